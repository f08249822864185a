# A definition that is not valid JSON / lacks fields.  mdevctl parses only
# the definitions its filters select; which broken file a whole listing
# trips over first depends on readdir order (the same for both sides), and
# only "invalid json" (no "start") is reproducible: serde's syntax messages
# are not (docs/mdevctl-compat.md).
source "$HERE/scenarios/common.inc"
build() {
	add_parent 0000:00:02.0 pci0000:00/0000:00:02.0
	add_type 0000:00:02.0 i915-GVTg_V5_4 1 vfio-pci GVTg_V5_4
	add_def 0000:00:02.0 $U1 '{"mdev_type": "i915-GVTg_V5_4",'
	add_def 0000:00:05.0 $U2 '{"mdev_type": "x"}'
	add_def 0000:00:02.0 $U3 "$(def_json i915-GVTg_V5_4 manual)"
}
CASES=(
	"mdevctl list -d"
	"mdevctl list -d -p 0000:00:05.0"
	"mdevctl list"
	"mdevctl types"
	"mdevctl list -d -u $U3"
	"mdevctl list -d -u $U2"
	"mdevctl list -d -u $U2 --dumpjson"
	"mdevctl modify -u $U3 --auto ;; mdevctl list -d -u $U3"
	"mdevctl modify -u $U2 --auto"
	"mdevctl undefine -u $U3"
	"mdevctl start -u $U2"
	"mdevctl define -u $U4 -p 0000:00:02.0 -t i915-GVTg_V5_4"
)
