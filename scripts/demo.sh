#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: builds smtpgate, boots the VM gateway (QEMU, Debian's 6.1
# kernel) and plays tests/demo/gateway.sh, printing its account as plain
# text.  Exits non-zero if any step did not go as told.
set -eu
cd "$(dirname "$0")/.."
VM_KVER=${VM_KVER:-$(ls -1v /lib/modules | grep '^6\.1\.' | tail -n 1)}

echo "demo: building the module for $VM_KVER and the tools..."
make -s all >/dev/null
scripts/build-kernels.sh "$VM_KVER" >/dev/null
echo "demo: booting the gateway VM (QEMU/TCG, about 10 s)..."
set +e
scripts/vm-run.sh -k "$VM_KVER" -t 600 tests/demo/gateway.sh |
	sed -n -e 's/^# \{0,1\}# \{0,1\}//p' -e 's/^not ok .*/DEMO FAILED: &/p' |
	grep -v -e '^vm: ' -e '^vm-run: '
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] && echo "demo: done." || echo "demo: FAILED (vm-run exit $rc)"
exit "$rc"
