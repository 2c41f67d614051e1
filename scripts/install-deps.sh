#!/bin/sh
# Installs what a fresh Debian 12 machine lacks to build smtpgate, boot the
# VM test bed and run every test.  Idempotent: a second run installs nothing.
set -eu

KVER_612=6.12.107+deb12-amd64

PKGS="build-essential pkg-config kmod cpio xz-utils busybox-static
qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1
linux-image-${KVER_612}-unsigned linux-headers-${KVER_612}
libnl-3-dev libnl-genl-3-dev libnetfilter-queue-dev libmnl-dev libxtables-dev
iproute2 iputils-ping iptables nftables ipset conntrack tcpdump iperf3 socat jq
postfix dovecot-core swaks python3-scapy miredo miredo-server
clang-14 libclang-rt-14-dev valgrind dkms man-db"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it should deliver; the tests configure it themselves.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
