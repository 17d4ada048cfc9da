# strata unarchive (POSIX sh), after ansible-core's unarchive.py handlers.
# Inputs: src dest C KEEP (keep_newer) OWNER GROUP MODE, and pre-quoted word lists for eval:
# TOPTS (extra_opts for tar, with --show-transformed-names), ZOPTS (extra_opts for unzip),
# TEXCL (--exclude=P...), ZEXCL (-x P... or empty), EXCL (bare patterns), INCL (bare names).
export LANG=C LC_ALL=C LC_MESSAGES=C LANGUAGE=C
__lst=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX") || exit 1
__tmp=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX") || exit 1
trap 'rm -f -- "$__lst" "$__tmp"' EXIT
if [ ! -e "$src" ]; then __o fail "Source '$src' does not exist"; exit 0; fi
if [ ! -r "$src" ]; then __o fail "Source '$src' not readable"; exit 0; fi
if [ ! -s "$src" ]; then __o fail "Invalid archive '$src', the file is 0 bytes"; exit 0; fi
# Excluded by an fnmatch pattern?
__excl_pat() { __f=$1; eval "set -- $EXCL"; for __p in "$@"; do case $__f in $__p) return 0;; esac; done; return 1; }
handler=; zflag=
if command -v unzip >/dev/null 2>&1 && unzip -Z1 "$src" > "$__tmp" 2>/dev/null; then
  handler=ZipArchive
  while IFS= read -r f; do
    if __excl_pat "$f"; then continue; fi
    if [ -n "$INCL" ]; then
      keep=0; eval "set -- $INCL"; for __p in "$@"; do case $f in $__p) keep=1;; esac; done
      [ "$keep" = 1 ] || continue
    fi
    printf '%s\n' "$f"
  done < "$__tmp" > "$__lst"
else
  reasons=
  if ! tar --version 2>/dev/null | head -n 1 | grep -q GNU; then
    reasons='Command "tar" detected as tar type None. GNU tar required.'
  else
    for h in TgzArchive:-z TarArchive: TarBzipArchive:-j TarXzArchive:-J TarZstdArchive:--use-compress-program=zstd; do
      flag=${h#*:}
      if eval "tar --list -C \"\$dest\" $flag $TOPTS $TEXCL -f \"\$src\" $INCL" > "$__tmp" 2>/dev/null && [ -s "$__tmp" ]; then
        handler=${h%%:*}; zflag=$flag; break
      fi
    done
    reasons="Command \"$(command -v tar)\" could not handle archive"
  fi
  if [ -z "$handler" ]; then
    __o fail "Failed to find handler for \"$src\". Make sure the required command to extract the file is installed.
$reasons"; exit 0
  fi
  while IFS= read -r f; do
    f=${f#/}
    if __excl_pat "$f"; then continue; fi
    printf '%s\n' "$f"
  done < "$__tmp" > "$__lst"
fi
__o handler "$handler"
__dump files "$__lst"
uid=$(id -u)
unarchived=1
if [ "$handler" = ZipArchive ]; then
  if [ -z "$OWNER" ]; then fo=$(id -un); else fo=$(getent passwd "$OWNER" | cut -d: -f1); fo=${fo:-$(id -un)}; fi
  if [ -z "$GROUP" ]; then fg=$(id -gn); else fg=$(getent group "$GROUP" | cut -d: -f1); fg=${fg:-$(id -gn)}; fi
  eval "unzip -Z -T -s \"\$src\" $ZEXCL $INCL" > "$__tmp" 2>/dev/null || unarchived=0
  while read -r perm ver os size tx meth ts path; do
    case $perm in [dl?-][rwxstah-]*) ;; *) continue;; esac
    [ ${#ts} = 15 ] || continue
    [ -n "$path" ] || continue
    if __excl_pat "$path"; then continue; fi
    p="$dest/$path"
    case $path in */) t=d;; *) case $perm in l*) t=L;; *) t=f;; esac;; esac
    if [ ! -e "$p" ] && [ ! -L "$p" ]; then __o why "Path $path is missing"; unarchived=0; continue; fi
    if [ "$t" = d ] && [ ! -d "$p" ]; then __o why "File $path already exists, but not as a directory"; unarchived=0; continue; fi
    if [ "$t" = f ] && [ ! -f "$p" ]; then __o why "Directory $path already exists, but not as a regular file"; unarchived=0; continue; fi
    if [ "$t" = L ] && [ ! -L "$p" ]; then __o why "Directory $path already exists, but not as a symlink"; unarchived=0; continue; fi
    set -- $(stat -c '%Y %s %a %U %G' -- "$p")
    if [ "$t" = f ]; then
      mt=$(date -d "@$1" +%Y%m%d.%H%M%S)
      if [ "$KEEP" = 1 ]; then
        if [ "$ts" \> "$mt" ]; then __o why "File $path is older, replacing file"; unarchived=0; fi
      elif [ "$ts" != "$mt" ]; then __o why "File $path differs in mtime"; unarchived=0; fi
      if [ "$size" != "$2" ]; then __o why "File $path differs in size"; unarchived=0
      elif [ "$ts" = "$mt" ]; then
        zc=$(unzip -Z -v "$src" "$path" 2>/dev/null | sed -n 's/^ *32-bit CRC value (hex): *//p' | head -n 1)
        fc=$(gzip -c < "$p" | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
        if [ -n "$zc" ] && [ "$zc" != "$fc" ]; then __o why "File $path differs in CRC32 checksum"; unarchived=0; fi
      fi
    fi
    if [ "$t" != L ]; then
      if [ -n "$MODE" ]; then
        if [ -d "$p" ]; then m=$(mktemp -d); else m=$(mktemp); fi
        chmod "$3" "$m"; chmod -- "$MODE" "$m"; want=$(stat -c %a -- "$m"); rm -rf -- "$m"
      else
        # rwxrwxrwx -> octal, as _permstr_to_octal with umask 0.
        pm=${perm#?}; want=0; i=0
        while [ -n "$pm" ]; do
          c=${pm%"${pm#?}"}; pm=${pm#?}; i=$((i + 1))
          case $i in 1|4|7) b=4;; 2|5|8) b=2;; *) b=1;; esac
          case $i in 1|2|3) s=64;; 4|5|6) s=8;; *) s=1;; esac
          case $c in r|w|x|s|t) want=$((want + b * s));; esac
        done
        want=$(printf %o "$want")
      fi
      if [ "$want" != "$3" ]; then __o why "Path $path differs in permissions ($want vs $3)"; unarchived=0; fi
    fi
    if [ "$4" != "$fo" ]; then __o why "Path $path is owned by user $4, not by user $fo as expected"; unarchived=0; fi
    if [ "$5" != "$fg" ]; then __o why "Path $path is owned by group $5, not by group $fg as expected"; unarchived=0; fi
  done < "$__tmp"
else
  set --
  if [ -n "$OWNER" ]; then set -- "$@" "--owner=$OWNER"; fi
  if [ -n "$GROUP" ]; then set -- "$@" "--group=$GROUP"; fi
  if [ "$KEEP" = 1 ]; then set -- "$@" --keep-newer-files; fi
  eval "tar --diff -C \"\$dest\" $zflag $TOPTS \"\$@\" $TEXCL -f \"\$src\" $INCL" > "$__tmp" 2>&1
  re=': Mod time differs$|: Warning: Cannot stat: No such file or directory$|: Invalid owner|: Invalid group|: Symlink differs$|: Contents differ$|: Size differs$'
  if [ "$uid" = 0 ] && [ -z "$OWNER" ]; then re="$re|: Uid differs\$"; fi
  if [ "$uid" = 0 ] && [ -z "$GROUP" ]; then re="$re|: Gid differs\$"; fi
  if [ -z "$MODE" ]; then re="$re|: Mode differs\$"; fi
  if grep -v ': : Warning: Cannot stat: No such file or directory$' "$__tmp" | grep -Eq "$re"; then unarchived=0; fi
fi
__o unarchived "$unarchived"
changed=0
if [ "$unarchived" = 0 ]; then
  changed=1
  if [ "$C" = 0 ]; then
    if [ "$handler" = ZipArchive ]; then
      eval "unzip -o $ZOPTS \"\$src\" $ZEXCL $INCL -d \"\$dest\"" > "$__tmp" 2>&1
    else
      eval "tar --extract -C \"\$dest\" $zflag $TOPTS \"\$@\" $TEXCL -f \"\$src\" $INCL" > "$__tmp" 2>&1
    fi
    erc=$?
    if [ "$erc" != 0 ]; then __o rc "$erc"; __dump out "$__tmp"; __o fail "failed to unpack $src to $dest"; exit 0; fi
  fi
fi
if [ "$C" = 0 ] && [ -n "$MODE$OWNER$GROUP" ] && { [ "$handler" != ZipArchive ] || [ "$unarchived" = 0 ]; }; then
  __fa_C=0; __fa_changed=0
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    __fa "$dest/$f" "$MODE" "$OWNER" "$GROUP" || { __o fail "$__fa_err"; exit 0; }
    case $f in */*) top=${f%%/*}; __fa "$dest/$top" "$MODE" "$OWNER" "$GROUP" || { __o fail "$__fa_err"; exit 0; };; esac
  done < "$__lst"
  if [ "$__fa_changed" = 1 ]; then changed=1; fi
fi
__o changed "$changed"
