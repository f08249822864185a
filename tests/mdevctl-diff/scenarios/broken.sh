# Odd contents: non-UUID names, stray files, a parent without types.
source "$HERE/scenarios/common.inc"
build() {
	add_parent 0000:00:02.0 pci0000:00/0000:00:02.0
	add_type 0000:00:02.0 i915-GVTg_V5_4 1 vfio-pci GVTg_V5_4
	add_instance 0000:00:02.0 $U1 i915-GVTg_V5_4
	mkdir -p "$TREE/sys/bus/mdev/devices/not-a-uuid"
	add_def 0000:00:02.0 $U1 "$(def_json i915-GVTg_V5_4 auto)"
	add_def 0000:00:02.0 README "hello"
	printf 'x' >"$TREE/etc/mdevctl.d/stray-file"
	add_def 0000:00:03.0 $U2 '{"mdev_type": "t", "start": "auto"}'
	add_def 0000:00:04.0 $U3 '{"mdev_type": "t", "start": "weird", "attrs": [{"a":"1"},{"b":"2"}]}'
}
CASES=(
	"${READONLY_CASES[@]}"
	"mdevctl list -d -p 0000:00:03.0 --dumpjson"
	"mdevctl modify -u $U2 --auto ;; mdevctl list -d"
	"mdevctl modify -u $U3 -t u"
	"mdevctl modify -u $U4 --auto"
	"mdevctl undefine -u $U2 ;; mdevctl list -d"
	"mdevctl start -u $U2"
	"@kernel mdevctl start -u $U4 -p 0000:00:02.0 -t i915-GVTg_V5_4"
	"mdevctl start-parent-mdevs 0000:00:02.0"
	"mdevctl define -u $U4 -p 0000:00:02.0 -t i915-GVTg_V5_4"
	"mdevctl list -p 0000:00:02.0"
	"mdevctl list -d -p 0000:00:03.0"
	"mdevctl stop -u $U1"
)
