# mdevctl 1.4's callout and notifier scripts (the scenario needs 1.4: the
# personality runs 1.2 without them). Every script logs how it was called
# and what it read into /etc/mdevctl.d/callout.log, which is compared with
# the tree. 10-other refuses every device (exit 2); 20-mtty answers for the
# mtty parent: versioned for mtty-1 (it answers "-e get -a capabilities"),
# plain for mtty-2, gives attributes of running devices, refuses to start
# $U3, to define $U4 and to undefine $U5; a notifier logs every
# notification.
REQUIRES=1.4
source "$HERE/scenarios/common.inc"
LOG=/etc/mdevctl.d/callout.log
build() {
	add_parent mtty virtual/mtty/mtty
	add_type mtty mtty-2 4 vfio-pci "Dual-port-serial"
	add_type mtty mtty-1 4 vfio-pci "Single-port-serial"
	add_instance mtty $U5 mtty-2
	add_instance mtty $U4 mtty-1
	add_def mtty $U2 "$(def_json mtty-1 manual k v)"
	add_def mtty $U5 "$(def_json mtty-2 auto a 1)"
	add_script etc/mdevctl.d/scripts.d/callouts 10-other "#!/bin/sh
echo \"10-other \$*\" >> $LOG
exit 2"
	add_script etc/mdevctl.d/scripts.d/callouts 20-mtty "#!/bin/sh
in=\$(cat)
echo \"20-mtty \$* <\$in>\" >> $LOG
case \" \$* \" in *' -p mtty '*) ;; *) exit 2 ;; esac
case \" \$* \" in
*' -t mtty-1 '*'-e get -a capabilities '*)
	echo '{\"supports\":{\"version\":1,\"actions\":[\"start\",\"stop\",\"define\",\"undefine\",\"modify\",\"attributes\"],\"events\":[\"pre\",\"post\",\"notify\",\"get\"]}}'
	exit 0 ;;
*'-e get -a capabilities '*) exit 0 ;;
*'-e get -a attributes '*)
	printf '[{\"port\":\"%s\"}]' \"\$(echo \$* | cut -c1-6)\"
	exit 0 ;;
*'-e pre -a start '*'-u $U3 '*)
	echo 'not this one' >&2
	exit 1 ;;
*'-e pre -a define '*'-u $U4 '*)
	exit 1 ;;
*'-e pre -a undefine '*'-u $U5 '*)
	exit 3 ;;
esac
exit 0"
	printf '%s' '{"mdev_type": "mtty-1", "start": "auto", "attrs": [{"x": "1"}]}' \
		> "$TREE/etc/mdevctl.d/new.json"
	printf '%s' '{"mdev_type": "mtty-2", "start": "manual", "attrs": []}' \
		> "$TREE/etc/mdevctl.d/new2.json"
	add_script etc/mdevctl.d/scripts.d/notifiers 50-note "#!/bin/sh
echo \"50-note \$*\" >> $LOG"
}
CASES=(
	"mdevctl list"
	"mdevctl list -v"
	"mdevctl list --dumpjson"
	"mdevctl list -u $U5 --dumpjson"
	"mdevctl list -d"
	"lsmdev -v"
	"mdevctl define -u $U1 -p mtty -t mtty-1"
	"mdevctl define -u $U3 -p mtty -t mtty-2 -a"
	"mdevctl undefine -u $U2"
	"mdevctl define -p mtty -t mtty-1 --auto"
	"mdevctl define -u $U4"
	"mdevctl define -u $U4 --force"
	"mdevctl undefine -u $U5"
	"mdevctl undefine -u $U5 --force"
	"@kernel mdevctl start -p mtty -t mtty-1"
	"@kernel mdevctl start -p mtty -t mtty-2"
	"mdevctl modify -u $U2 --auto"
	"mdevctl modify -u $U5 --addattr b --value 2"
	"mdevctl stop -u $U5"
	"mdevctl stop -u $U4"
	"mdevctl start -u $U3 -p mtty -t mtty-1"
	"@kernel mdevctl start -u $U3 -p mtty -t mtty-1 --force"
	"@kernel mdevctl start -u $U1 -p mtty -t mtty-2"
	"@kernel mdevctl start -u $U2"
	"mdevctl modify -u $U2 -p mtty --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl modify -u $U2 --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl modify -u $U2 -p mtty --jsonfile /nonexistent"
	"mdevctl modify -u $U4 --live --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl modify -u $U5 --live --jsonfile /etc/mdevctl.d/new2.json"
	"mdevctl modify -u $U1 --live --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl modify -u $U4 --live --auto --jsonfile /etc/mdevctl.d/new.json"
	"mdevctl modify -u $U5 --live --defined --jsonfile /etc/mdevctl.d/new2.json"
	"mdevctl undefine -u $U2 -f"
	"mdevctl modify -u $U2 -p mtty --jsonfile /etc/mdevctl.d/new.json --force"
)
