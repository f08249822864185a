# s390: a css subchannel parent (vfio-ccw) and the vfio_ap matrix.
source "$HERE/scenarios/common.inc"
build() {
	add_parent 0.0.0023 css0/0.0.0023
	add_type 0.0.0023 vfio_ccw-io 1 vfio-ccw "I/O subchannel (Non-QDIO)"
	add_parent matrix vfio_ap/matrix
	add_type matrix vfio_ap-passthrough 65535 vfio-ap "VFIO AP Passthrough Device"
	add_instance matrix $U4 vfio_ap-passthrough assign_adapter assign_domain
	add_def matrix $U4 "$(def_json vfio_ap-passthrough auto assign_adapter 5 assign_domain 0x4b assign_control_domain 0x4b)"
	add_def matrix $U1 "$(def_json vfio_ap-passthrough manual assign_adapter 6)"
	add_def 0.0.0023 $U2 "$(def_json vfio_ccw-io auto)"
}
CASES=(
	"${READONLY_CASES[@]}"
	"mdevctl list -v -p matrix"
	"mdevctl list -d -v -u $U1"
	"mdevctl list -d -u $U4 --dumpjson"
	"@kernel mdevctl start -u $U2"
	"mdevctl stop -u $U4"
	"mdevctl undefine -u $U1 ;; mdevctl list -d"
	"mdevctl modify -u $U1 --addattr assign_domain --value 0x01 --index 1 ;; mdevctl list -d -v"
	"@kernel mdevctl start -u $U1 ;; mdevctl list -v"
	"@kernel mdevctl start-parent-mdevs 0.0.0023 ;; mdevctl list"
)
