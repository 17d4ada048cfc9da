# strata git module (POSIX sh), following ansible-core's git.py step by step.
# Inputs (set before this text): repo dest version remote force depth update clone bare
# single_branch recursive track_submodules gitx (the git command, for `submodule foreach`)
# __gap_dir (the askpass directory, when the repo URL carried credentials: removed at exit)
# C (check mode). Reports __strata_KEY=VALUE lines; free text is hex (__ox).
# A failure anywhere (even in a subshell) is written once to $__failf and the script stops:
# callers run __bail after every subshell, and the EXIT trap prints the failure.
__ox() { printf '__strata_%s=' "$1"; printf '%s' "$2" | od -An -v -tx1 | tr -d ' \n'; echo; }
__errf=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX") || exit 1
__failf=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX") || exit 1
trap 'cat -- "$__failf"; rm -f -- "$__errf" "$__failf"; [ -z "${__gap_dir:-}" ] || rm -rf -- "$__gap_dir"' EXIT
export LANG=C LC_ALL=C LC_MESSAGES=C LANGUAGE=C GIT_TERMINAL_PROMPT=0
# __run CMD...: output in $__out, stderr in $__err, status in $__rcode.
__run() { __cmd="$*"; __out=$("$@" 2>"$__errf"); __rcode=$?; __err=$(cat -- "$__errf"); }
# __fail MSG: Ansible's fail_json with the last command's details.
__fail() {
  if [ ! -s "$__failf" ]; then
    { __ox failx "$1"; __o rc "${__rcode:-1}"; __ox stdoutx "$__out"; __ox stderrx "$__err"; __ox cmdx "$__cmd"
      if [ -n "$before" ]; then __o before "$before"; fi; } > "$__failf"
  fi
  exit 1
}
__bail() { if [ -s "$__failf" ]; then exit 1; fi; }
# __chk CMD...: run_command(check_rc=True).
__chk() {
  __run "$@"
  if [ "$__rcode" != 0 ]; then __fail "$(printf '%s' "${__err:-$__out}")"; fi
}
mods=0; ruc=0; __out=; __err=; __cmd=
before=
if ! command -v git >/dev/null 2>&1; then
  __cmd=git; __fail "Failed to find required executable \"git\" in paths: $PATH"
fi

__is_remote_branch() { # remote version [cwd]
  (if [ -n "$3" ]; then cd "$3" || exit 1; fi; __chk git ls-remote "$1" -h "refs/heads/$2"; case $__out in *"$2"*) exit 0;; esac; exit 1)
}
__is_remote_tag() {
  (if [ -n "$3" ]; then cd "$3" || exit 1; fi; __chk git ls-remote "$1" -t "refs/tags/$2"; case $__out in *"$2"*) exit 0;; esac; exit 1)
}
# The branch HEAD points at; in a detached HEAD, the remote's HEAD branch.
__head_branch() {
  hf="$repo_path/HEAD"
  if (cd "$dest" && git branch --no-color -a 2>/dev/null) | grep -q '^\* .*\(no branch\|detached from\|detached at\)'; then
    hf="$repo_path/refs/remotes/$remote/HEAD"
  fi
  if [ ! -f "$hf" ]; then __fail "Unable to read the HEAD file $hf"; fi
  sed -n '1s|^ref: refs/remotes/[^/]*/||;1s|^ref: refs/heads/||;1p' "$hf"
}
__remote_head() { # remote cloning(0/1)
  rh_cwd=; if [ "$2" = 0 ]; then rh_cwd=$dest; fi
  tag=0
  if [ "$version" = HEAD ]; then
    if [ "$2" = 1 ]; then set -- "$1" HEAD
    else hb=$(__head_branch); __bail; set -- "$1" "refs/heads/$hb"; fi
    __q=-h
  elif __isb "$1" "$version" "$rh_cwd"; then set -- "$1" "refs/heads/$version"; __q=-h
  elif __ist "$1" "$version" "$rh_cwd"; then set -- "$1" "refs/tags/$version*"; __q=-t; tag=1
  else echo "$version"; return 0
  fi
  (if [ -n "$rh_cwd" ]; then cd "$rh_cwd" || exit 1; fi
   __chk git ls-remote "$1" "$__q" "$2"
   if [ -z "$__out" ]; then __fail "Could not determine remote revision for $version"; fi
   line=$(printf '%s\n' "$__out" | head -n 1)
   if [ "$tag" = 1 ]; then
     l2=$(printf '%s\n' "$__out" | grep -F "$version^{}" | head -n 1)
     if [ -n "$l2" ]; then line=$l2; else l2=$(printf '%s\n' "$__out" | grep -E "$version\$" | tail -n 1); [ -n "$l2" ] && line=$l2; fi
   fi
   printf '%s\n' "${line%%[	 ]*}")
}
__isb() { __is_remote_branch "$@"; __r=$?; __bail; return $__r; }
__ist() { __is_remote_tag "$@"; __r=$?; __bail; return $__r; }
__version() { (cd "$dest" && git rev-parse HEAD 2>/dev/null); }
__unfrack() { printf '%s' "$1" | sed 's|/*$||'; }

repo_path=$dest; if [ "$bare" = 0 ]; then repo_path="$dest/.git"; fi
if [ -f "$repo_path" ]; then
  gd=$(sed -n 's/^gitdir: //p' "$repo_path")
  case $gd in /*) repo_path=$gd;; *) repo_path="$dest/$gd";; esac
fi

if { [ -n "$dest" ] && [ ! -e "$repo_path/config" ]; } || { [ -z "$dest" ] && [ "$clone" = 0 ]; }; then
  if [ "$C" = 1 ] || [ "$clone" = 0 ]; then
    rh=$(__remote_head "$repo" 1); __bail
    __o changed 1; __o after "$rh"; exit 0
  fi
  pdir=$(dirname -- "$dest"); mkdir -p -- "$pdir" 2>/dev/null
  set -- git clone
  if [ "$bare" = 1 ]; then set -- "$@" --bare; else set -- "$@" --origin "$remote"; fi
  bt=0
  if [ "$version" != HEAD ] && { __isb "$repo" "$version" "" || __ist "$repo" "$version" ""; }; then bt=1; fi
  if [ -n "$depth" ]; then
    if [ "$version" = HEAD ]; then set -- "$@" --depth "$depth"
    elif [ "$bt" = 1 ]; then set -- "$@" --depth "$depth" --branch "$version"
    else __o warning "Ignoring depth argument. Shallow clones are only available for HEAD, branches, tags or in combination with refspec."
    fi
  fi
  if [ "$single_branch" = 1 ]; then
    set -- "$@" --single-branch
    if [ "$bt" = 1 ]; then set -- "$@" --branch "$version"; fi
  fi
  set -- "$@" "$repo" "$dest"
  (cd "$pdir" && __chk "$@"); __bail
  if [ "$bare" = 1 ] && [ "$remote" != origin ]; then (cd "$dest" && __chk git remote add "$remote" "$repo"); __bail; fi
elif [ "$update" = 0 ]; then
  before=$(__version); __o before "$before"; __o after "$before"; exit 0
else
  mods=0
  if [ "$bare" = 0 ] && [ -n "$(cd "$dest" && git status --porcelain | grep -v '^??')" ]; then mods=1; fi
  before=$(__version)
  if [ "$mods" = 1 ]; then
    if [ "$force" = 0 ]; then __fail "Local modifications exist in the destination: $dest (force=no)."; fi
    if [ "$C" = 0 ]; then (cd "$dest" && __chk git reset --hard HEAD); __bail; __o local_mods 1; fi
  fi
  url=$(cd "$dest" && git ls-remote --get-url "$remote" 2>/dev/null); urc=$?
  ruc=0
  if [ "$urc" = 0 ] && [ "$url" != "$repo" ] && [ "$(__unfrack "$url")" != "$(__unfrack "$repo")" ]; then
    ruc=1
    if [ "$C" = 0 ]; then
      (cd "$dest" && __run git remote set-url "$remote" "$repo"
       if [ "$__rcode" != 0 ]; then __fail "Failed to set a new url $repo for $remote: $__out $__err"; fi); __bail
    fi
  fi
  __o remote_url_changed "$ruc"
  if [ "$C" = 1 ]; then
    rh=$(__remote_head "$remote" 0); __bail
    __o before "$before"; __o after "$rh"
    if [ "$before" != "$rh" ] || [ "$ruc" = 1 ] || [ "$mods" = 1 ]; then __o changed 1; fi
    exit 0
  fi
  set -- git fetch; refspecs=
  if [ -n "$depth" ]; then
    hb=$(__head_branch); __bail
    if [ "$version" = HEAD ]; then refspecs=$hb
    elif __isb "$repo" "$version" "$dest"; then
      if [ "$hb" != "$version" ]; then refspecs="+refs/heads/$version:refs/heads/$version"; fi
      refspecs="$refspecs +refs/heads/$version:refs/remotes/$remote/$version"
    elif __ist "$repo" "$version" "$dest"; then refspecs="+refs/tags/$version:refs/tags/$version"
    fi
    if [ -n "$refspecs" ]; then set -- "$@" --depth "$depth"; fi
  fi
  if [ -z "$depth" ] || [ -z "$refspecs" ]; then
    if [ "$bare" = 1 ]; then refspecs='+refs/heads/*:refs/heads/* +refs/tags/*:refs/tags/*'; else set -- "$@" --tags; fi
  fi
  if [ "$force" = 1 ]; then set -- "$@" --force; fi
  set -- "$@" "$remote"
  (cd "$dest" && __run "$@" $refspecs
   if [ "$__rcode" != 0 ]; then __fail "Failed to download remote objects and refs: $__out $__err"; fi); __bail
fi

if [ "$bare" = 0 ]; then
  (cd "$dest" || __fail "cannot enter $dest"
  if [ "$version" = HEAD ]; then
    b=$(__head_branch); __bail
    __run git checkout --force "$b"
    if [ "$__rcode" != 0 ]; then __fail "Failed to checkout branch $b"; fi
    __run git reset --hard "$remote/$b" --
    if [ "$__rcode" != 0 ]; then __fail "Failed to checkout branch $b"; fi
  elif __isb "$remote" "$version" "$dest"; then
    lb=0; if git branch --no-color -a | sed 's/^[* ] //' | grep -qx -- "$version"; then lb=1; fi
    if [ -n "$depth" ] && [ "$lb" = 0 ]; then
      __run git fetch "--depth=$depth" "$remote" "+refs/heads/$version:refs/heads/$version" "+refs/heads/$version:refs/remotes/$remote/$version"
      if [ "$__rcode" != 0 ]; then __fail "Failed to fetch branch from remote: $version"; fi
      lb=1; __run git checkout --force "$version"
      if [ "$__rcode" != 0 ]; then __fail "Failed to checkout $version"; fi
    fi
    if [ "$lb" = 0 ]; then
      __run git checkout --track -b "$version" "$remote/$version"
    else
      __run git checkout --force "$version"
      if [ "$__rcode" != 0 ]; then __fail "Failed to checkout branch $version"; fi
      __run git reset --hard "$remote/$version"
    fi
    if [ "$__rcode" != 0 ]; then __fail "Failed to checkout $version"; fi
  else
    __run git checkout --force "$version"
    if [ "$__rcode" != 0 ]; then __fail "Failed to checkout $version"; fi
  fi); __bail
fi
# Submodules, as git.py's submodules_fetch and submodule_update: a submodule not checked out
# yet, or one that is not where the superproject (or, tracking, its remote's master) says, is
# brought there with `git submodule update --init --recursive`.
subs=0
if [ "$recursive" = 1 ] && [ "$bare" = 0 ] && [ -f "$dest/.gitmodules" ]; then
  while IFS= read -r __l || [ -n "$__l" ]; do
    __l=$(printf '%s' "$__l" | sed 's/^[[:space:]]*//')
    case $__l in
      path*=*) __p=$(printf '%s' "${__l#*=}" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//')
        if [ ! -e "$dest/$__p/.git" ]; then subs=1; fi;;
    esac
  done < "$dest/.gitmodules"
  if [ "$subs" = 0 ]; then
    (cd "$dest" || __fail "cannot enter $dest"
     __subv() { # REV: "Entering 'NAME'" and a hash per submodule, as get_submodule_versions
       __run git submodule foreach "$gitx" rev-parse "$1"
       if [ "$__rcode" != 0 ]; then __fail "Unable to determine hashes of submodules"; fi
       __bad=$(printf '%s' "$__out" | awk '
         /^Entering \047/ { n = 1; name = substr($0, 11, length($0) - 11); next }
         { h = $0; gsub(/^[ \t]+|[ \t]+$/, "", h)
           if (length(h) == 40 && n) { n = 0; next }
           print "Unable to parse submodule hash line: " h; bad = 1; exit }
         END { if (n && !bad) print "Unable to find hash for submodule: " name }')
       if [ -n "$__bad" ]; then __fail "$__bad"; fi
       printf '%s\n' "$__out"
     }
     begin=$(__subv HEAD); __bail
     __chk git submodule foreach "$gitx" fetch
     if [ "$track_submodules" = 1 ]; then
       end=$(__subv "$remote/master"); __bail
       [ "$begin" != "$end" ] && exit 3
     else
       __chk git submodule status
       printf '%s\n' "$__out" | grep -q '^[^ ]' && exit 3
     fi
     exit 0); __sr=$?; __bail
    if [ "$__sr" = 3 ]; then subs=1; fi
  fi
  if [ "$subs" = 1 ]; then
    __o submodules_changed 1
    (cd "$dest" || __fail "cannot enter $dest"
     __run git submodule update --help
     set -- git submodule update --init --recursive
     if [ "$track_submodules" = 1 ] && printf '%s\n' "$__err" | grep -F 'git submodule [--quiet] update ' | tr -d '[]' | tr '|' ' ' | tr ' ' '\n' | grep -qx -- --remote; then
       set -- "$@" --remote
     fi
     if [ "$force" = 1 ]; then set -- "$@" --force; fi
     __chk git submodule sync
     __run "$@"
     if [ "$__rcode" != 0 ]; then __fail "Failed to init/update submodules: ${__out:+$__out
}$__err"; fi); __bail
  fi
fi
after=$(__version)
__o before "$before"; __o after "$after"
if [ "$before" != "$after" ] || [ "$mods" = 1 ] || [ "$ruc" = 1 ] || [ "$subs" = 1 ]; then __o changed 1; fi
