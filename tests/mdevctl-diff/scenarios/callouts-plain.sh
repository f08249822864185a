# Callout and notifier scripts without versioning, the way both 1.2 and 1.4
# run them (no REQUIRES: compared with each). Every script logs how it was
# called and what it read into /etc/mdevctl.d/callout.log, which is compared
# with the tree.
# /etc/mdevctl.d/scripts.d/callouts: 50-mtty (made first) answers for the
# mtty parent: the attributes of running devices (not a list for $U6), refuses
# to define $U3 (exit 1), to undefine $U2 (exit 3) and to start $U5 (exit
# 4, which start-parent-mdevs reports as a warning), dies of SIGKILL
# before stopping $U4; 05-other refuses every device (exit 2) and logs the
# file descriptors, signal mask, umask and directory it was given; README is
# not executable, sub.d is a directory.
# /usr/lib/mdevctl/scripts.d/callouts (1.4 only): 30-lib answers the
# attributes of $U6 (the
# second one malformed) and refuses everything else.
# Notifiers: 50-note in /etc (exit 7, stderr), 40-libnote in /usr/lib.
# The @without cases take scripts directories away: which ones each version
# requires.
source "$HERE/scenarios/common.inc"
U6=6a6b6c6d-0000-4000-8000-00000000a0a6
U7=7e7e7e7e-0000-4000-8000-0000000000e7
LOG=/etc/mdevctl.d/callout.log
build() {
	add_parent mtty virtual/mtty/mtty
	add_type mtty mtty-2 4 vfio-pci "Dual-port-serial"
	add_type mtty mtty-1 4 vfio-pci "Single-port-serial"
	add_instance mtty $U5 mtty-2
	add_instance mtty $U4 mtty-1
	add_instance mtty $U6 mtty-2
	add_def mtty $U2 "$(def_json mtty-1 manual k v)"
	add_def mtty $U5 "$(def_json mtty-2 auto a 1)"
	add_def mtty $U7 "$(def_json mtty-1 auto)"
	local d=etc/mdevctl.d/scripts.d/callouts
	add_script $d 50-mtty "#!/bin/sh
in=\$(cat)
echo \"50-mtty \$* <\$in>\" >> $LOG
case \" \$* \" in *' -p mtty '*) ;; *) exit 2 ;; esac
case \" \$* \" in
*'-e get -a capabilities '*)
	echo '{\"supports\":null}'
	exit 0 ;;
*'-e get -a attributes '*'-u $U4 '*)
	echo 'attributes of $U4' >&2
	printf '[{\"port\":\"1\"},{\"mode\":\"x y\"}]'
	exit 0 ;;
*'-e get -a attributes '*'-u $U6 '*)
	echo 'not a list' >&2
	printf '{\"a\":\"b\"}'
	exit 0 ;;
*'-e get -a attributes '*)
	printf '[{}]'
	exit 0 ;;
*'-e pre -a define '*'-u $U3 '*)
	echo 'not $U3' >&2
	exit 1 ;;
*'-e pre -a undefine '*'-u $U2 '*)
	echo 'keep $U2' >&2
	exit 3 ;;
*'-e pre -a start '*'-u $U5 '*)
	echo 'not $U5 today' >&2
	exit 4 ;;
*'-e pre -a stop '*'-u $U4 '*)
	kill -KILL \$\$ ;;
*'-e post '*)
	echo \"post: \$*\" >&2 ;;
esac
echo 'stdout is not shown'
exit 0"
	add_script $d 05-other "#!/bin/sh
in=\$(cat)
ign=\$(sed -n 's/^SigIgn:.//p' /proc/\$\$/status)
blk=\$(sed -n 's/^SigBlk:.//p' /proc/\$\$/status)
# signals 1-31 (1.2's Rust leaves glibc's own ignored)
sig=\$(printf 'ignored=%x blocked=%x' \$((0x\$ign & 0x7fffffff)) \$((0x\$blk & 0x7fffffff)))
printf '05-other %s <%s> umask=%s cwd=%s %s fds=' \"\$*\" \"\$in\" \$(umask) \"\$(pwd)\" \"\$sig\" >> $LOG
# (no pipe or substitution: the shell's own descriptors are then stable)
ls -m /proc/\$\$/fd >> $LOG
exit 2"
	printf '#!/bin/sh\necho README >> %s\n' "$LOG" > "$TREE/$d/README"
	chmod 644 "$TREE/$d/README"
	mkdir -p "$TREE/$d/sub.d"
	add_script usr/lib/mdevctl/scripts.d/callouts 30-lib "#!/bin/sh
in=\$(cat)
echo \"30-lib \$* <\$in>\" >> $LOG
case \" \$* \" in
*'-e get -a attributes '*'-u $U6 '*)
	printf '[{\"lib\":\"yes\"},{\"x\":\"1\",\"y\":\"2\"}]'
	exit 0 ;;
esac
exit 2"
	add_script etc/mdevctl.d/scripts.d/notifiers 50-note "#!/bin/sh
in=\$(cat)
echo \"50-note \$* <\$in>\" >> $LOG
echo 'a notifier speaks' >&2
exit 7"
	printf 'not a script\n' > "$TREE/etc/mdevctl.d/scripts.d/notifiers/README"
	printf '%s' '{"mdev_type": "mtty-2", "start": "auto", "attrs": []}' \
		> "$TREE/etc/mdevctl.d/new.json"
	add_script usr/lib/mdevctl/scripts.d/notifiers 40-libnote "#!/bin/sh
echo \"40-libnote \$*\" >> $LOG"
}
CASES=(
	"mdevctl list"
	"mdevctl list --dumpjson"
	"lsmdev -v"
	"mdevctl list -u $U4 --dumpjson"
	"mdevctl list -d -v"
	"mdevctl define -p mtty -t mtty-2"
	"mdevctl define -p mtty -t mtty-1 --auto"
	"@kernel mdevctl start -p mtty -t mtty-2"
	"@kernel mdevctl start -u $U1 -p mtty -t mtty-1 ;; mdevctl list"
	"mdevctl define -p mtty --jsonfile /etc/mdevctl.d/new.json"
	"@kernel mdevctl start -p mtty --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl define -u $U3 -p mtty -t mtty-1"
	"mdevctl undefine -u $U2"
	"mdevctl undefine -u $U2 -p mtty ;; mdevctl undefine -u $U5"
	"mdevctl define -u $U4"
	"mdevctl define -u $U6"
	"mdevctl define -u $U6 -p mtty -t mtty-1"
	"mdevctl modify -u $U5 --manual"
	"mdevctl modify -u ${U5^^} --addattr b --value 2"
	"mdevctl stop -u $U4"
	"@kernel mdevctl stop -u $U5 ;; mdevctl start-parent-mdevs mtty"
	"@kernel mdevctl start-parent-mdevs mtty"
	"@kernel mdevctl start -u $U2"
	"@without usr/lib/mdevctl mdevctl list"
	"@without usr/lib/mdevctl mdevctl list --bogus"
	"@without usr/lib/mdevctl/scripts.d/callouts mdevctl --version"
	"@without usr/lib/mdevctl/scripts.d/notifiers mdevctl list -d"
	"@without usr/lib/mdevctl/scripts.d/callouts lsmdev"
	"@without etc/mdevctl.d/scripts.d/callouts mdevctl list"
	"@without etc/mdevctl.d/scripts.d/notifiers mdevctl define -u $U1 -p mtty -t mtty-2"
	"@without etc/mdevctl.d/scripts.d mdevctl --version"
	"@without etc/mdevctl.d/scripts.d/callouts @without usr/lib/mdevctl/scripts.d/callouts mdevctl undefine -u $U5"
)
