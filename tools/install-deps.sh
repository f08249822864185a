#!/bin/sh
# Install the Debian 12 packages libvgpu needs to build and test.
# Run as root. Idempotent: installs only what is missing.
set -eu
pkgs="meson ninja-build gcc g++ pkg-config bc uuid-dev libudev-dev libpci-dev pci.ids
libjson-c-dev libpng-dev check libfuse3-dev fuse3 mdevctl valgrind util-linux
clang clang-format libclang-rt-14-dev abigail-tools tmux prometheus python3-jsonschema
bash-completion libvirt-daemon libvirt-clients strace
libglib2.0-dev libfdt-dev python3-venv seabios qemu-system-data dpkg-dev
libvncserver-dev vncsnapshot libjpeg-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f '${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing > /dev/null
fi
echo "build dependencies present"
