#!/usr/bin/env bash
# Builds the Debian package of nsbox with dpkg-deb (no debhelper, no
# cargo-deb): the release binary, the man pages and shell completions it
# generates itself (`nsbox man DIR`, `nsbox completion SHELL`: they cannot
# drift from the code), /usr/share/doc/nsbox with the engine configuration
# (docs/engines.md and its snippets). Depends: what dpkg-shlibdeps finds the
# binary linked against, plus the programs nsbox runs (packaging/deb/control.in).
#
#   scripts/build-deb.sh [--binary PATH] [--out DIR]
#
# NSBOX_DEB_MAINTAINER="Name <address>" replaces the placeholder maintainer
# of packaging/deb (nsbox@localhost, which lintian rightly calls bogus).
# --binary packages an nsbox already built (the tests package the debug
# build); by default `cargo build --release -p nsbox` builds it. Prints the
# path of the .deb. Then: dpkg -i nsbox_VERSION_ARCH.deb (apt-get install
# ./nsbox_VERSION_ARCH.deb also installs what it depends on).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=
out=$repo/target/deb
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "build-deb.sh: unknown argument $1 (usage: build-deb.sh [--binary PATH] [--out DIR])" >&2; exit 2 ;;
  esac
done
for tool in dpkg-deb dpkg-shlibdeps gzip strip; do
  command -v "$tool" >/dev/null ||
    { echo "build-deb.sh: $tool missing: apt-get install dpkg-dev binutils" >&2; exit 1; }
done

if [ -z "$binary" ]; then
  (cd "$repo" && cargo build --release -p nsbox)
  binary=${CARGO_TARGET_DIR:-$repo/target}/release/nsbox
fi
[ -x "$binary" ] || { echo "build-deb.sh: $binary is not an executable" >&2; exit 1; }

# The version: Cargo's, and the Debian revision of packaging/deb/changelog's
# first entry, whose upstream part must be Cargo's.
upstream=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -1)
debian_version=$(sed -n '1s/^nsbox (\([^)]*\)).*/\1/p' "$repo/packaging/deb/changelog")
if [ "${debian_version%-*}" != "$upstream" ]; then
  echo "build-deb.sh: packaging/deb/changelog is at $debian_version, Cargo.toml at $upstream: add a changelog entry" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
umask 022
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/usr/share/man/man8" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
  "$root/usr/share/fish/vendor_completions.d" "$root/usr/share/doc/nsbox/engines"
install -m 0755 "$binary" "$root/usr/bin/nsbox"
# Debian ships binaries without debug symbols (a release build has none).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/nsbox"

# Man pages, from the binary being packaged.
"$binary" man "$work/man" >/dev/null
for page in "$work"/man/*; do
  section=${page##*.}
  gzip -9n <"$page" >"$root/usr/share/man/man$section/$(basename "$page").gz"
  chmod 0644 "$root/usr/share/man/man$section/$(basename "$page").gz"
done

# Completion scripts: they call `nsbox` from PATH on each Tab.
"$binary" completion bash >"$root/usr/share/bash-completion/completions/nsbox"
"$binary" completion zsh >"$root/usr/share/zsh/vendor-completions/_nsbox"
"$binary" completion fish >"$root/usr/share/fish/vendor_completions.d/nsbox.fish"

doc=$root/usr/share/doc/nsbox
install -m 0644 "$repo/packaging/deb/copyright" "$doc/copyright"
install -d "$root/usr/share/lintian/overrides"
install -m 0644 "$repo/packaging/deb/lintian-overrides" "$root/usr/share/lintian/overrides/nsbox"
placeholder='nsbox developers <nsbox@localhost>'
maintainer=${NSBOX_DEB_MAINTAINER:-$placeholder}
sed "s|$placeholder|$maintainer|" "$repo/packaging/deb/changelog" | gzip -9n >"$doc/changelog.Debian.gz"
install -m 0644 "$repo/README.md" "$doc/README.md"
install -m 0644 "$repo/docs/engines.md" "$doc/engines.md"
install -m 0644 "$repo"/docs/engines/* "$doc/engines/"
chmod -R u=rwX,go=rX "$root/usr"

# Depends on the shared libraries it links (libc6, libgcc-s1, libseccomp2),
# as dpkg-shlibdeps computes them from the installed packages' symbols.
mkdir -p "$work/src/debian"
printf 'Source: nsbox\n\nPackage: nsbox\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/nsbox" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb.sh: dpkg-shlibdeps found no libraries for $binary" >&2; exit 1; }

size=$(du -sk --apparent-size "$root/usr" | cut -f1)
sed -e "s/@VERSION@/$debian_version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@SHLIBS@/$shlibs/" -e "s|$placeholder|$maintainer|" \
  "$repo/packaging/deb/control.in" >"$root/DEBIAN/control"
(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb=$out/nsbox_${debian_version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
