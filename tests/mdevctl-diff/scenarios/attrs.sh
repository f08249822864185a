# Attributes written at start (vfio_ap matrix with its assign_* files):
# success, a value the driver rejects, an attribute the type lacks.
source "$HERE/scenarios/common.inc"
build() {
	add_parent matrix vfio_ap/matrix
	add_type matrix vfio_ap-passthrough 65535 vfio-ap "VFIO AP Passthrough Device"
	add_instance_attr matrix vfio_ap-passthrough assign_adapter
	add_instance_attr matrix vfio_ap-passthrough assign_domain 0xff EINVAL
	add_instance_attr matrix vfio_ap-passthrough assign_control_domain 0x4c EBUSY
	add_def matrix $U1 "$(def_json vfio_ap-passthrough auto assign_adapter 5 assign_domain 0x4b assign_control_domain 0x4b)"
	add_def matrix $U2 "$(def_json vfio_ap-passthrough manual assign_adapter 6 assign_domain 0xff)"
	add_def matrix $U3 "$(def_json vfio_ap-passthrough auto assign_adapter 7 bogus 1)"
	add_def matrix $U4 "$(def_json vfio_ap-passthrough auto assign_control_domain 0x4c)"
}
CASES=(
	"@kernel mdevctl start -u $U1 ;; mdevctl list -v"
	"@kernel mdevctl start -u $U2 ;; mdevctl list"
	"@kernel mdevctl start -u $U3 ;; mdevctl list"
	"@kernel mdevctl start -u $U4 ;; mdevctl list"
	"@kernel mdevctl start-parent-mdevs matrix ;; mdevctl list -v"
	"@kernel mdevctl start -u $U1 ;; mdevctl stop -u $U1 ;; mdevctl list"
)
