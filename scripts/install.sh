#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the built execgate agent on this host (docs/install.md), or removes it again.
# From a checkout where `npm run build` ran (scripts/setup.sh does), it puts (PREFIX defaults to
# /usr/local; with --root DIR every path below is under DIR):
#   PREFIX/lib/execgate/        what the bundled command line loads at run time (scripts/bundle.mjs): the
#                               `bin` dist/execgate.cjs, the bundles with their V8 code caches, wasm-core's
#                               debug build, better-sqlite3 (native addon) and the packages it requires; and
#                               MANIFEST, every path installed, so that --uninstall and an upgrade remove
#                               exactly those
#   PREFIX/bin/execgate         a link to ../lib/execgate/dist/execgate.cjs, run by the `node` on PATH
#   /etc/execgate/policy.toml   scripts/install/policy.toml, a commented example, only where none is
#   /var/lib/execgate/          the state directory, 0700, only where none is; never removed
#   /etc/systemd/system/execgate.service   scripts/install/execgate.service for PREFIX
# --uninstall keeps the state directory and a policy changed since it was installed.
# Exit codes: 0 done; 1 unexpected failure; 2 usage; 3 cannot install from here (not root, not built,
# Node.js missing or unfit, systemd not running for --enable); 4 a path is in the way that this script did
# not install, or nothing is installed to remove.
set -Eeuo pipefail
trap 'echo "install: unexpected failure at line $LINENO (exit $?); run it again, or with --uninstall" >&2; exit 1' ERR
umask 022
export LC_ALL=C

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--prefix DIR] [--root DIR] [--enable] [--dry-run]
       scripts/install.sh --uninstall [--prefix DIR] [--root DIR] [--dry-run]

Installs the built execgate agent (run `npm run build` first; scripts/setup.sh does): the code in
PREFIX/lib/execgate, the `execgate` command in PREFIX/bin, an example /etc/execgate/policy.toml (never
overwritten), the state directory /var/lib/execgate (0700) and the systemd unit execgate.service, which
runs `execgate serve --policy /etc/execgate/policy.toml`. As root.

  --prefix DIR   where the code and command go (default /usr/local)
  --root DIR     install every path under DIR, a staging root for packages and images; no systemctl
  --enable       also `systemctl enable --now execgate.service` (after `execgate host init`)
  --dry-run      print what would be done, change nothing
  --uninstall    remove what was installed at PREFIX (its MANIFEST); keeps /var/lib/execgate and a
                 policy changed since it was installed
  -h, --help     this text

Example: sudo scripts/install.sh && sudo execgate host init && sudo systemctl enable --now execgate
Exit codes: 0 done, 1 unexpected failure, 2 usage, 3 cannot install from here (not root, not built,
Node.js missing or unfit), 4 a path in the way that this script did not install, or nothing to remove.
EOF
}

die() {
  local code=$1
  shift
  echo "install: $*" >&2
  exit "$code"
}

prefix=/usr/local
root=
dry_run=0
uninstall=0
enable=0
while (($#)); do
  case $1 in
    --prefix | --root)
      (($# >= 2)) || die 2 "$1 needs a directory (see --help)"
      if [[ $1 == --prefix ]]; then prefix=$2; else root=$2; fi
      shift 2
      ;;
    --prefix=*) prefix=${1#*=} && shift ;;
    --root=*) root=${1#*=} && shift ;;
    --dry-run) dry_run=1 && shift ;;
    --uninstall) uninstall=1 && shift ;;
    --enable) enable=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) die 2 "unknown argument '$1' (see --help)" ;;
  esac
done

# The paths go into the unit file, the manifest and the messages: absolute, normal, of plain characters.
check_path() {
  [[ $2 =~ ^(/[A-Za-z0-9._+-]+)+$ && ! $2 =~ /\.\.?(/|$) ]] ||
    die 2 "$1 must be an absolute path of letters, digits and . _ + - (no . or .. parts, not /), got '$2'"
}
while [[ $prefix == ?*/ ]]; do prefix=${prefix%/}; done
check_path --prefix "$prefix"
if [[ -n $root ]]; then
  [[ -d $root ]] || die 2 "--root $root is not a directory: create it first"
  root=$(cd "$root" && pwd -P)
  check_path --root "$root"
fi
((enable == 0 || uninstall == 0)) || die 2 "--enable installs; it does not go with --uninstall"
[[ $enable == 0 || -z $root ]] ||
  die 2 "--enable starts the service on this host, not in --root: there, run systemctl --root DIR enable execgate.service"
if [[ -z $root && $EUID -ne 0 && $dry_run == 0 ]]; then
  die 3 "run as root (sudo $0 …), or put the files in a staging root with --root DIR"
fi

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
bindir=$prefix/bin
libdir=$prefix/lib/execgate
manifest=$libdir/MANIFEST
link=$bindir/execgate
link_target=../lib/execgate/dist/execgate.cjs
policy=/etc/execgate/policy.toml
statedir=/var/lib/execgate
unit=/etc/systemd/system/execgate.service
# systemd's own test for "booted with systemd" (sd_booted(3)).
systemd_running=0
if [[ -z $root && -d /run/systemd/system ]]; then systemd_running=1; fi

# Paths are named as the host sees them; "$root$path" is where one is on disk.

# Says what it does ("would" in a dry run).
say() {
  if ((dry_run)); then echo "install: would $1"; else echo "install: $1"; fi
}

# Runs "$@" after saying what it does; nothing in a dry run.
act() {
  say "$1"
  shift
  ((dry_run)) || "$@"
}

owned_by_root() {
  if ((EUID == 0)); then chown -h 0:0 -- "$@"; fi
}
as_root=()
if ((EUID == 0)); then as_root=(-o 0 -g 0); fi

# Files are put in place in two steps: each is written beside its destination as DEST.execgate-new
# (stage), then all are flushed to disk and each renamed over its destination (commit), so that a gate
# starting meanwhile finds the old file or the new one, never half of one.
staged=()
stage() {
  install -m "$1" "${as_root[@]}" -- "$2" "$3.execgate-new"
  staged+=("$3")
}

commit() {
  local dest
  ((${#staged[@]})) || return 0
  sync -- "${staged[@]/%/.execgate-new}"
  for dest in "${staged[@]}"; do mv -f -- "$dest.execgate-new" "$dest"; done
  staged=()
}

place() {
  stage "$@"
  commit
}

place_link() {
  local tmp=$2.execgate-new
  ln -sfn -- "$1" "$tmp"
  owned_by_root "$tmp"
  mv -Tf -- "$tmp" "$2"
}

# Makes the directories "$@" with MODE, in the order given (parents first).
make_dirs() {
  local mode=$1
  shift
  mkdir -m "$mode" -- "$@"
  owned_by_root "$@"
}

# The manifest's entries, one a line: "f PATH" a file, "l PATH" the link, "c SHA256 PATH" the policy
# (removed only while unchanged), "d PATH" a directory made for them (removed when empty).
read_manifest() {
  local file line n=0
  file=$root$manifest
  old=()
  [[ -f $file ]] || return 0
  while IFS= read -r line; do
    n=$((n + 1))
    [[ $line == '#'* ]] && continue
    # Only entries this script writes, for paths it installs (in normal form: no ".." climbing out of
    # them): a MANIFEST is never a list of things to delete.
    if [[ ! $line =~ ^([fld]|c\ [0-9a-f]{64})\ (/[A-Za-z0-9._+-]+)+$ || $line =~ /\.\.?(/|$) ]]; then
      die 4 "$file line $n is not an entry this script writes: '$line'; nothing was changed"
    fi
    case $line in
      "f $libdir/"* | "f $unit" | "l $link" | "c "*" $policy") old+=("$line") ;;
      "d /"*)
        allowed_dir "${line#d }" ||
          die 4 "$file line $n names a directory this script does not make: '$line'; nothing was changed"
        old+=("$line")
        ;;
      *) die 4 "$file line $n is not an entry this script writes: '$line'; nothing was changed" ;;
    esac
  done <"$file"
}

sha256() { sha256sum -- "$1" | cut -d' ' -f1; }

manifest_text() {
  echo "# execgate install manifest (scripts/install.sh): what it installed, as the host sees the paths."
  echo "# f file, l link, c the policy (removed only while unchanged; SHA-256 as installed), d directory."
  printf '%s\n' "$@" | sort -u
}

# Adds to install_agent's `dirs` every directory above PATH that does not exist yet.
want_dir() {
  local d=${1%/*}
  while [[ -n $d && ! -d $root$d ]]; do
    dirs[$d]=1
    d=${d%/*}
  done
}

# A directory the manifest may name: one above or in what this script installs.
allowed_dir() {
  local t
  [[ $1 != "$libdir" && $1 != "$libdir"/* ]] || return 0
  for t in "$libdir" "$link" "$unit" "$policy" "$statedir"; do
    [[ $t != "$1"/* ]] || return 0
  done
  return 1
}

tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT

uninstall() {
  read_manifest
  [[ -f $root$manifest ]] ||
    die 4 "nothing to remove: no $root$manifest (was it installed with another --prefix?)"
  local entry kind path sum made=() has_unit=0
  for entry in "${old[@]}"; do [[ $entry != "f $unit" ]] || has_unit=1; done
  if [[ -z $root ]] && ((has_unit)) && command -v systemctl >/dev/null; then
    if ((systemd_running)); then
      act "systemctl disable --now execgate.service" systemctl disable --now --quiet execgate.service
    else
      act "systemctl disable execgate.service (systemd is not running)" systemctl disable --quiet execgate.service
    fi
  fi
  local gone=()
  for entry in "${old[@]}"; do
    kind=${entry%% *}
    path=${entry##* }
    case $kind in
      f) [[ ! -e $root$path ]] || gone+=("$path") ;;
      l)
        if [[ -L $root$path && $(readlink -- "$root$path") == "$link_target" ]]; then
          gone+=("$path")
        elif [[ -e $root$path || -L $root$path ]]; then
          echo "install: kept $path: no longer the link this script made"
        fi
        ;;
      c)
        sum=${entry#c }
        sum=${sum%% *}
        if [[ ! -e $root$path ]]; then
          :
        elif [[ -f $root$path && $(sha256 "$root$path") == "$sum" ]]; then
          say "remove $path (unchanged since installed)"
          ((dry_run)) || rm -f -- "$root$path"
        else
          echo "install: kept $path: changed since it was installed"
        fi
        ;;
      d) made+=("$path") ;;
    esac
  done
  # The manifest last, so that an uninstall that stops half-way can be run again.
  gone+=("$manifest")
  for path in "${gone[@]}"; do say "remove $path"; done
  ((dry_run)) || rm -f -- "${gone[@]/#/$root}"
  # Deepest first; a directory that holds anything else stays.
  local ordered=()
  while IFS= read -r path; do
    if [[ -n $path && -d $root$path ]]; then ordered+=("$path"); fi
  done < <(printf '%s\n' "${made[@]}" | sort -r)
  if ((${#ordered[@]})); then
    for path in "${ordered[@]}"; do say "remove directory $path if empty"; done
    ((dry_run)) || rmdir --ignore-fail-on-non-empty -- "${ordered[@]/#/$root}"
    for path in "${ordered[@]}"; do
      if ((!dry_run)) && [[ -d $root$path ]]; then echo "install: kept $path: not empty"; fi
    done
  fi
  echo "install: kept $statedir (the state directory)"
  if ((systemd_running)); then act "systemctl daemon-reload" systemctl daemon-reload; fi
}

install_agent() {
  local node real
  node=$(command -v node) || die 3 "Node.js 20 or newer is needed on PATH (Debian: apt-get install nodejs)"
  if [[ -z $root ]]; then
    # The unit runs the link through `env node` with systemd's default PATH, and ProtectHome=yes hides
    # a node kept under a home directory (nvm).
    real=$(readlink -f -- "$node")
    case $(dirname -- "$node") in
      /usr/local/sbin | /usr/local/bin | /usr/sbin | /usr/bin | /sbin | /bin) ;;
      *) die 3 "node is $node, outside the PATH that systemd gives services (/usr/local/bin:/usr/bin…): install Node.js system-wide or link it into /usr/local/bin" ;;
    esac
    case $real in
      /home/* | /root/* | /run/user/*) die 3 "node is $real, under a home directory that execgate.service cannot see (ProtectHome=yes): install Node.js system-wide" ;;
    esac
  fi

  # What the command needs at run time (scripts/bundle.mjs): the `bin`, every bundle beside it with its
  # code cache (dist/execgate-*.cjs: the CLI, the exec client of a service), wasm-core's debug build,
  # and better-sqlite3, which stays outside the bundles, with what its lib/ requires (bindings, which
  # requires file-uri-to-path).
  local files=(dist/execgate.cjs dist/execgate-bundle.cjs dist/execgate-bundle.cjs.cache
    dist/wasm-core/generated/wasm-debug.js)
  local f
  for f in "${files[@]}"; do
    [[ -f $src/$f ]] || die 3 "$src/$f is missing: build first (npm ci && npm run build; scripts/setup.sh does both)"
  done
  shopt -s nullglob
  for f in "$src"/dist/execgate-*.cjs "$src"/dist/execgate-*.cjs.cache; do
    f=${f#"$src"/}
    [[ $f == dist/execgate-bundle.* ]] || files+=("$f")
  done
  local sqlite=node_modules/better-sqlite3
  files+=("$sqlite/package.json" "$sqlite/LICENSE" "$sqlite/build/Release/better_sqlite3.node"
    node_modules/bindings/package.json node_modules/bindings/LICENSE.md node_modules/bindings/bindings.js
    node_modules/file-uri-to-path/package.json node_modules/file-uri-to-path/LICENSE
    node_modules/file-uri-to-path/index.js)
  while IFS= read -r -d '' f; do files+=("${f#"$src"/}"); done < <(find "$src/$sqlite/lib" -type f -name '*.js' -print0 | sort -z)
  for f in "${files[@]}"; do
    [[ -f $src/$f ]] || die 3 "$src/$f is missing: run npm ci"
    [[ $f =~ ^[A-Za-z0-9._+/-]+$ ]] || die 3 "$src/$f: a file name this script does not install"
  done
  # One Node.js run: it must be 20 or newer and load better-sqlite3's addon, which is built for one
  # Node.js ABI (refused here rather than in every later run); it writes the package.json, which marks
  # dist/'s .js files (wasm-debug.js) as ES modules, as the checkout's does.
  "$node" - "$src/$sqlite" "$src/package.json" "$tmp/package.json" <<'EOF' || exit $?
const [sqlite, pkg, out] = process.argv.slice(2);
const refuse = (why) => {
  process.stderr.write(`install: ${why}\n`);
  process.exit(3);
};
if (Number(process.versions.node.split('.')[0]) < 20)
  refuse(`Node.js 20 or newer is needed; ${process.execPath} is ${process.version}`);
try {
  new (require(sqlite))(':memory:').close();
} catch (e) {
  refuse(`better-sqlite3's native addon does not load under Node.js ${process.version} (${e.message.split('\n')[0]}): run npm rebuild better-sqlite3 with this Node.js, then npm run build`);
}
const p = require(pkg);
const fields = { name: p.name, version: p.version, private: true, type: 'module', bin: p.bin };
require('node:fs').writeFileSync(out, `${JSON.stringify(fields, null, 2)}\n`);
EOF
  # The unit, with its ExecStart for PREFIX.
  sed "s|@BINDIR@|$bindir|g" "$src/scripts/install/execgate.service" >"$tmp/execgate.service"
  ! grep -q '@[A-Z]*@' "$tmp/execgate.service" || die 1 "scripts/install/execgate.service has a placeholder this script does not fill"

  read_manifest
  local -A ours=()
  local entry
  for entry in "${old[@]}"; do ours[${entry##* }]=1; done
  # Never replace what another hand put there (npm link's execgate, a unit of one's own).
  [[ -f $root$manifest || ! -e $root$libdir ]] ||
    die 4 "$root$libdir exists but holds no MANIFEST, so this script did not install it: move it away first"
  local p
  for p in "$link" "$unit"; do
    if [[ -e $root$p || -L $root$p ]] && [[ -z ${ours[$p]:-} ]]; then
      die 4 "$root$p exists and this script did not install it: remove it first (for npm link's: npm rm -g execgate)"
    fi
  done
  if ((enable && !systemd_running)); then
    die 3 "--enable needs systemd running on this host; install without it, then systemctl enable execgate.service"
  fi

  # The new manifest: every file, and the directories made for them (now, or by an earlier install).
  local -A dirs=()
  local new=()
  for f in "${files[@]}"; do
    new+=("f $libdir/$f")
    want_dir "$libdir/$f"
  done
  new+=("f $libdir/package.json" "f $unit" "l $link")
  want_dir "$unit"
  want_dir "$link"
  want_dir "$manifest"
  local policy_entry=
  if [[ ! -e $root$policy ]]; then
    policy_entry="c $(sha256 "$src/scripts/install/policy.toml") $policy"
    want_dir "$policy"
  else
    for entry in "${old[@]}"; do [[ $entry != "c "* ]] || policy_entry=$entry; done
  fi
  [[ -z $policy_entry ]] || new+=("$policy_entry")
  [[ -d $root$statedir ]] || want_dir "$statedir"
  for entry in "${old[@]}"; do
    if [[ $entry == "d "* && -d $root${entry#d } ]]; then dirs[${entry#d }]=1; fi
  done
  for p in "${!dirs[@]}"; do new+=("d $p"); done
  # Until the end, the manifest lists the old files and the new, so that an install that stops half-way
  # leaves nothing that --uninstall would not remove.
  manifest_text "${new[@]}" "${old[@]}" >"$tmp/MANIFEST.partial"
  manifest_text "${new[@]}" >"$tmp/MANIFEST"

  local create=()
  while IFS= read -r p; do
    if [[ -n $p && ! -d $root$p ]]; then create+=("$p"); fi
  done < <(printf '%s\n' "${!dirs[@]}" | sort)
  if ((${#create[@]})); then
    for p in "${create[@]}"; do say "create directory $p"; done
    ((dry_run)) || make_dirs 0755 "${create[@]/#/$root}"
  fi
  act "write $manifest" place 0644 "$tmp/MANIFEST.partial" "$root$manifest"
  for f in "${files[@]}"; do
    local mode=0644
    [[ $f != dist/execgate.cjs ]] || mode=0755
    act "install $libdir/$f ($mode)" stage "$mode" "$src/$f" "$root$libdir/$f"
  done
  act "install $libdir/package.json (0644)" stage 0644 "$tmp/package.json" "$root$libdir/package.json"
  ((dry_run)) || commit
  act "link $link -> $link_target" place_link "$link_target" "$root$link"
  act "install $unit (0644)" place 0644 "$tmp/execgate.service" "$root$unit"
  if [[ -e $root$policy ]]; then
    echo "install: kept $policy (present: never overwritten)"
  else
    act "install $policy (0644, an example: edit it, then execgate policy check)" \
      place 0644 "$src/scripts/install/policy.toml" "$root$policy"
  fi
  if [[ -d $root$statedir ]]; then
    echo "install: kept $statedir (present)"
  else
    act "create directory $statedir (0700)" make_dirs 0700 "$root$statedir"
  fi
  # Files of an earlier version that this one no longer has.
  for entry in "${old[@]}"; do
    if [[ $entry == [fl]" "* ]] && ! grep -qxF -- "$entry" "$tmp/MANIFEST"; then
      act "remove ${entry#? } (no longer part of execgate)" rm -f -- "$root${entry#? }"
    fi
  done
  act "write $manifest" place 0644 "$tmp/MANIFEST" "$root$manifest"

  if ((systemd_running)); then
    act "systemctl daemon-reload" systemctl daemon-reload
    ((enable == 0)) || act "systemctl enable --now execgate.service" systemctl enable --now execgate.service
  elif [[ -z $root ]]; then
    echo "install: systemd is not running here: no daemon-reload"
  fi
  ((dry_run)) || echo "install: done; next: execgate host init, then edit $policy (execgate policy check)"
}

if ((uninstall)); then uninstall; else install_agent; fi
