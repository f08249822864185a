# A host with no mdev parent at all.
source "$HERE/scenarios/common.inc"
build() { :; }
CASES=(
	"${READONLY_CASES[@]}"
	"mdevctl start -u $U1"
	"mdevctl start -p 0000:00:02.0 -t i915-GVTg_V5_4"
	"mdevctl stop -u $U1"
	"mdevctl undefine -u $U1"
	"mdevctl modify -u $U1 --auto"
	"mdevctl modify -u $U1 -p 0000:00:02.0 --auto"
	"mdevctl define -u $U1"
	"mdevctl define -u $U1 -p 0000:00:02.0"
	"mdevctl define -u $U1 -p 0000:00:02.0 -t i915-GVTg_V5_4 ;; mdevctl list -d ;; mdevctl list -d --dumpjson -u $U1"
	"mdevctl define -p 0000:00:02.0 -t i915-GVTg_V5_4 --auto ;; mdevctl list -d"
	"mdevctl start-parent-mdevs 0000:00:02.0"
)
