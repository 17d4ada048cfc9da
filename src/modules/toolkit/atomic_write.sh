# strata atomic file writer (POSIX sh). Defined once per script, called once per file:
#   __s_put IDX DEST NAME SRC MODE OWNER GROUP VALIDATE BACKUP FORCE DIRMODE PARENT_MAY_BE_CREATED
# SRC: "-" stdin, "=OFF:LEN" slice of the staged stdin, "@PATH" remote file, "%PATH" pre-uploaded temp.
# Reports lines "__strata_IDX_KEY=VALUE"; file content never goes to stdout except as a hex
# dump of the old content for --diff.
# Values rarely hold newlines; only then is `tr` forked (each fork costs on busy hosts).
__s_o() {
  case $2 in *'
'*) set -- "$1" "$(printf '%s' "$2" | tr '\n' ' ')";; esac
  printf '__strata_%s_%s=%s\n' "$__s_i" "$1" "$2"
}
__s_hex() { printf '__strata_%s_%s=' "$__s_i" "$1"; od -An -v -tx1 "$2" | tr -d ' \n'; echo; }
__s_fail() { __s_o err "$1"; if [ -n "$__s_tmp" ]; then rm -f -- "$__s_tmp"; fi; __s_tmp=; }
__s_put() {
  __s_i=$1; d=$2; name=$3; src=$4; mode=$5; owner=$6; group=$7; val=$8; bk=$9; shift 9
  force=$1; dmode=$2; pm=$3; __s_tmp=; isdir=0
  case $d in */)
    isdir=1
    if [ ! -d "$d" ]; then
      if [ "$__s_C" = 0 ]; then
        mkdir -p -- "$d" || { __s_fail "could not create directory $d"; return; }
        if [ -n "$dmode" ]; then chmod -- "$dmode" "$d"; fi
      fi
      __s_o mkdir 1; pm=1
    fi;;
  esac
  if [ -d "$d" ] || [ "$isdir" = 1 ]; then
    if [ -z "$name" ]; then __s_fail "can not use content with a dir as dest"; return; fi
    d="${d%/}/$name"
  fi
  __s_o dest "$d"
  case $d in */*) dir=${d%/*}; dir=${dir:-/};; *) dir=.;; esac
  # Check mode predicts a run: a directory an earlier task would create does not exist yet, so
  # the file is reported as created (Ansible fails here, which makes roles guard every task that
  # follows a directory they create).
  if [ ! -d "$dir" ] && [ "$__s_C" = 0 ]; then
    __s_fail "Destination directory $dir does not exist"; return
  fi
  ex=0; if [ -e "$d" ]; then ex=1; fi
  if [ -d "$d" ]; then __s_fail "Destination $d is a directory"; return; fi
  case $src in @*)
    if [ ! -e "${src#@}" ]; then __s_fail "Source ${src#@} not found"; return; fi
    if [ ! -r "${src#@}" ]; then __s_fail "Source ${src#@} not readable"; return; fi;;
  esac
  if [ "$ex" = 1 ] && [ "$force" = 0 ]; then
    case $src in %*) rm -f -- "${src#%}";; esac
    __s_o state skipped; __s_o final "$(stat -L -c '%a %u %g %s %U %G' -- "$d")"; return
  fi
  # An existing file is compared from a temp file outside its directory, so that an unchanged
  # one leaves the directory's mtime alone, as Ansible's modules do; only a change is copied
  # beside it to be renamed over it. Past 1 MiB (or for an upload already in the directory) the
  # second copy costs more than it saves, and the temp file starts in the directory.
  tdir=$dir
  if [ "$__s_C" = 1 ] || [ ! -d "$dir" ]; then tdir=${TMPDIR:-/tmp}
  elif [ "$ex" = 1 ]; then
    case $src in %*) ;; *) if [ "$(stat -L -c %s -- "$d")" -le 1048576 ]; then tdir=${TMPDIR:-/tmp}; fi;; esac
  fi
  __s_tmp=$(mktemp "$tdir/.strata.XXXXXX") || { __s_fail "could not create a temporary file in $tdir"; return; }
  case $src in
    -) cat > "$__s_tmp" ;;
    =*) r=${src#=}; tail -c +$((${r%%:*} + 1)) "$__s_stage" | head -c "${r#*:}" > "$__s_tmp" ;;
    @*) cat -- "${src#@}" > "$__s_tmp" ;;
    %*) if [ "$__s_C" = 0 ]; then mv -f -- "${src#%}" "$__s_tmp"; else cat -- "${src#%}" > "$__s_tmp"; rm -f -- "${src#%}"; fi ;;
  esac || { __s_fail "could not write the temporary file $__s_tmp"; return; }
  if [ "$ex" = 1 ]; then
    chmod "$(stat -L -c %a -- "$d")" "$__s_tmp"
    chown "$(stat -L -c %u:%g -- "$d")" "$__s_tmp" 2>/dev/null
  else
    chmod "$(printf %o $((0666 & ~0$(umask))))" "$__s_tmp"
  fi
  if [ "$mode" = preserve ]; then mode=$(stat -L -c %a -- "${src#@}"); fi
  if [ -n "$mode" ]; then
    chmod -- "$mode" "$__s_tmp" 2>/dev/null || { __s_fail "mode must be in octal or symbolic form"; return; }
  fi
  # Likewise an owner or group an earlier task would create, for a file check mode creates.
  if [ -n "$owner" ]; then
    case $owner in *[!0-9]*) if ! id -u -- "$owner" >/dev/null 2>&1; then
      if [ "$__s_C" = 1 ] && [ "$ex" = 0 ]; then owner=; else
      __s_fail "chown failed: failed to look up user $owner"; return; fi; fi;; esac
    if [ -n "$owner" ]; then
      e=$(chown -- "$owner" "$__s_tmp" 2>&1) || { __s_fail "chown failed: $e"; return; }
    fi
  fi
  if [ -n "$group" ]; then
    e=$(chgrp -- "$group" "$__s_tmp" 2>&1) || {
      case $e in *nvalid\ group*) e="failed to look up group $group";; esac
      if [ "$__s_C" = 0 ] || [ "$ex" = 1 ]; then __s_fail "chgrp failed: $e"; return; fi; }
  fi
  set -- $(stat -c '%a %u %g %s' -- "$__s_tmp"); nm=$1; nu=$2; ng=$3; ns=$4
  same=0
  if [ "$ex" = 1 ]; then
    set -- $(stat -L -c '%a %u %g %s' -- "$d"); om=$1; ou=$2; og=$3; os=$4
    __s_o before "$om $ou $og $os"
    if cmp -s -- "$__s_tmp" "$d"; then same=1; fi
  fi
  if [ "$same" = 1 ]; then
    rm -f -- "$__s_tmp"; __s_tmp=
    if [ "$nm $nu $ng" = "$om $ou $og" ]; then
      __s_o state ok
    else
      if [ "$__s_C" = 0 ]; then
        if [ "$nu $ng" != "$ou $og" ]; then e=$(chown -- "$nu:$ng" "$d" 2>&1) || { __s_fail "chown failed: $e"; return; }; fi
        chmod -- "$nm" "$d" || { __s_fail "chmod failed on $d"; return; }
      fi
      __s_o state attrs
    fi
  else
    if [ "$__s_D" = 1 ] && [ "$ex" = 1 ] && [ "$os" -le 65536 ]; then __s_hex old "$d"; fi
    if [ "$__s_C" = 1 ]; then
      rm -f -- "$__s_tmp"; __s_tmp=
    else
      if [ "$tdir" != "$dir" ]; then
        t2=$(mktemp "$dir/.strata.XXXXXX") || { __s_fail "could not create a temporary file in $dir"; return; }
        cat -- "$__s_tmp" > "$t2" || { rm -f -- "$t2"; __s_fail "could not write the temporary file $t2"; return; }
        rm -f -- "$__s_tmp"; __s_tmp=$t2
        chown -- "$nu:$ng" "$__s_tmp" 2>/dev/null; chmod -- "$nm" "$__s_tmp"
      fi
      if [ -n "$val" ]; then
        vo=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX"); ve=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX")
        (eval "$val") >"$vo" 2>"$ve" </dev/null; vrc=$?
        if [ "$vrc" != 0 ]; then
          __s_o vrc "$vrc"; __s_hex vout "$vo"; __s_hex verr "$ve"; rm -f -- "$vo" "$ve"
          __s_fail "failed to validate"; return
        fi
        rm -f -- "$vo" "$ve"
      fi
      if [ "$bk" = 1 ] && [ "$ex" = 1 ]; then
        b="$d.$$.$(date +%Y-%m-%d@%H:%M:%S)~"
        cp -p -- "$d" "$b" || { __s_fail "Could not make backup of $d to $b"; return; }
        __s_o backup "$b"
      fi
      mv -f -- "$__s_tmp" "$d" || { __s_fail "failed to move the temporary file to $d"; return; }
      __s_tmp=
    fi
    if [ "$ex" = 1 ]; then __s_o state updated; else __s_o state created; fi
  fi
  if [ -e "$d" ]; then
    __s_o final "$(stat -L -c '%a %u %g %s %U %G' -- "$d")"
  else
    __s_o final "$nm $nu $ng $ns"
  fi
}
