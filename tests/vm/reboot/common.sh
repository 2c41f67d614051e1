# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash source-path=SCRIPTDIR/.. disable=SC2034,SC1091
#
# Reboot survival (issue 4), in two boots run by scripts/vm-reboot-test.sh
# with the same `vm-run.sh -o DIR`: before.sh bans, after.sh, on a fresh
# kernel with the module loaded fresh, checks smtpgated restored them.
# What survives lives in $SG_OUT/reboot (vm-run.sh keeps an -o directory's
# contents, only its own .vm, console.log and qemu.log are replaced):
#
#	state/		smtpgated's state_dir
#	bans		ADDR SECONDS_LEFT MEASURED_AT SCOPE REASON, as seen
#			before the reboot
#	short		ADDR EXPIRES_AT of the ban that expires in between
#	boot_id		the first boot's, to tell a real reboot
#
# Sourced by before.sh and after.sh (not a test: check.sh globs only
# tests/vm/*.sh).

SMTPGATE_TEST_GW_NETNS=1
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$VM_DIR/lib.sh"
. "$VM_DIR/net.sh"
. "$VM_DIR/ctl-lib.sh"
. "$VM_DIR/daemon/lib.sh"

R_DIR=$SG_OUT/reboot

cleanup() {
	d_cleanup
	net_cleanup
	sg_unload
}

# The module fresh, the network, the daemon's notify socket and config
# with its state in $R_DIR/state.
r_setup() {
	echo "# -- setup"
	check "module loaded without parameters" ctl_load_module
	step "network" net_setup || ksft_fail "no network"
	step "the MX's listeners" net_mx_start
	step "the notify socket" d_init
	D_STATE=$R_DIR/state
	mkdir -p "$D_STATE"
	d_conf "$D_CONF"
}
