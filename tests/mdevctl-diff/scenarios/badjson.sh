# A definition that is not valid JSON / lacks fields.
source "$HERE/scenarios/common.inc"
build() {
	add_parent 0000:00:02.0 pci0000:00/0000:00:02.0
	add_type 0000:00:02.0 i915-GVTg_V5_4 1 vfio-pci GVTg_V5_4
	add_def 0000:00:02.0 $U1 '{"mdev_type": "i915-GVTg_V5_4",'
	add_def 0000:00:05.0 $U2 '{"mdev_type": "x"}'
}
CASES=(
	"mdevctl list -d"
	"mdevctl list -d -p 0000:00:05.0"
	"mdevctl list"
	"mdevctl types"
)
