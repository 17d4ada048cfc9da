# strata pip module (POSIX sh), after ansible-core's pip.py. Inputs are set before this text:
# env chdir C umask_ exe site isvenv vpy freeze_before check_all absent VCMD VCMD0 PIPARGS
# (VCMD and PIPARGS are pre-quoted word lists for eval). Free text is reported hex-encoded.
__ox() { printf '__strata_%s=' "$1"; printf '%s' "$2" | od -An -v -tx1 | tr -d ' \n'; echo; }
__errf=$(mktemp "${TMPDIR:-/tmp}/.strata.XXXXXX") || exit 1
trap 'rm -f -- "$__errf"' EXIT
__run() { __cmd="$*"; __out=$("$@" 2>"$__errf"); __rcode=$?; __err=$(cat -- "$__errf"); }
__fail() { __ox failx "$1"; __ox cmdx "$__cmd"; __ox stdoutx "$__out"; __ox stderrx "$__err"; exit 0; }
# Ansible's _fail(): the message is the command's output.
__pyfail() {
  m=; if [ -n "$__out" ]; then m="stdout: $__out"; fi
  if [ -n "$__err" ]; then m="$m
:stderr: $__err"; fi
  __fail "$m"
}
__cmd=; __out=; __err=
if [ -n "$umask_" ]; then umask "$umask_"; fi
cd "${chdir:-${TMPDIR:-/tmp}}" || __fail "cannot change to directory ${chdir:-${TMPDIR:-/tmp}}"
out=; err=; venv_created=0
if [ -n "$env" ] && [ ! -e "$env/bin/activate" ]; then
  venv_created=1
  if [ "$C" = 1 ]; then __o outcome venv_missing; exit 0; fi
  if ! command -v "$VCMD0" >/dev/null 2>&1; then
    __fail "Failed to find required executable \"$VCMD0\" in paths: $PATH"
  fi
  eval "set -- $VCMD"
  if [ "$site" = 1 ]; then set -- "$@" --system-site-packages
  elif "$VCMD0" --help 2>/dev/null | grep -q -- --no-site-packages; then set -- "$@" --no-site-packages
  fi
  if [ "$isvenv" = 0 ]; then
    if [ -n "$vpy" ]; then set -- "$@" "-p$vpy"; else set -- "$@" "-p$(command -v python3)"; fi
  fi
  set -- "$@" "$env"
  __run "$@"; out=$__out; err=$__err
  if [ "$__rcode" != 0 ]; then __pyfail; fi
fi
p2=; p3=
if [ -n "$exe" ]; then
  case $exe in
    /*) p1=$exe;;
    *) p1=$(command -v "$exe") || __fail "Unable to find any of $exe to use.  pip needs to be installed.";;
  esac
elif [ -n "$env" ]; then
  if [ -x "$env/bin/pip3" ]; then p1="$env/bin/pip3"
  elif [ -x "$env/bin/pip" ]; then p1="$env/bin/pip"
  else __fail "Unable to find pip in the virtualenv, $env, under any of these names: pip3, pip. Make sure pip is present in the virtualenv."
  fi
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import pip' >/dev/null 2>&1; then
  p1=$(command -v python3); p2=-m; p3=pip
elif command -v pip3 >/dev/null 2>&1; then p1=$(command -v pip3)
else __fail "Unable to find any of pip3 to use.  pip needs to be installed."
fi
__pip() { "$p1" ${p2:+"$p2"} ${p3:+"$p3"} "$@"; }
# Installed packages as `name==version` lines, like _get_packages().
__packages() {
  __run env LANG=C LC_ALL=C LC_MESSAGES=C "$p1" ${p2:+"$p2"} ${p3:+"$p3"} list --format=freeze
  if [ "$__rcode" != 0 ]; then
    __run "$p1" ${p2:+"$p2"} ${p3:+"$p3"} freeze
    if [ "$__rcode" != 0 ]; then __pyfail; fi
  fi
  __pkgcmd="$p1${p2:+ $p2}${p3:+ $p3} list --format=freeze"
}
if [ "$C" = 1 ]; then
  if [ "$check_all" = 1 ]; then __o outcome check_all; exit 0; fi
  __packages
  __o outcome check; __ox cmdx "$__pkgcmd"; __ox freezex "$__out"; __ox stdoutx "$out"; __ox stderrx "$err"
  exit 0
fi
before=
if [ "$freeze_before" = 1 ]; then __packages; before=$__out; fi
eval "set -- $PIPARGS"
if [ -n "$env" ]; then PATH="$env/bin:$PATH"; export PATH; fi
__run "$p1" ${p2:+"$p2"} ${p3:+"$p3"} "$@"
pout=$__out; perr=$__err; prc=$__rcode; pcmd=$__cmd
out="$out$pout"; err="$err$perr"
if [ "$prc" = 1 ] && [ "$absent" = 1 ] && printf '%s%s' "$pout" "$perr" | grep -q 'not installed'; then :
elif [ "$prc" != 0 ]; then __out=$out; __err=$err; __pyfail
fi
changed=0
if [ "$absent" = 1 ]; then
  case $pout in *'Successfully uninstalled'*) changed=1;; esac
elif [ "$freeze_before" = 0 ]; then
  case $pout in *'Successfully installed'*) changed=1;; esac
else
  __packages; if [ "$__out" != "$before" ]; then changed=1; fi
fi
if [ "$venv_created" = 1 ]; then changed=1; fi
__o outcome run; __o changed "$changed"; __ox cmdx "$pcmd"; __ox stdoutx "$out"; __ox stderrx "$err"
