# NVIDIA-style (pre-Ampere mdev): two GPUs, nvidia-NNN types with GRID names.
source "$HERE/scenarios/common.inc"
nv_desc() { printf 'num_heads=4, frl_config=60, framebuffer=%sM, max_resolution=5120x2880, max_instance=%s' "$1" "$2"; }
build() {
	local p
	for p in 0000:3b:00.0 0000:d8:00.0; do
		add_parent $p pci0000:3a/0000:3a:00.0/$p
		add_type $p nvidia-256 24 vfio-pci "GRID RTX6000-1Q" "$(nv_desc 1024 24)"
		add_type $p nvidia-257 12 vfio-pci "GRID RTX6000-2Q" "$(nv_desc 2048 12)"
		add_type $p nvidia-105 6 vfio-pci "GRID RTX6000-4C" "$(nv_desc 4096 6)"
	done
	add_instance 0000:d8:00.0 $U5 nvidia-257 nvidia
	add_instance 0000:3b:00.0 $U4 nvidia-256
	add_instance 0000:3b:00.0 $U1 nvidia-256
	add_def 0000:3b:00.0 $U1 "$(def_json nvidia-256 auto)"
	add_def 0000:d8:00.0 $U2 "$(def_json nvidia-105 manual)"
	# same UUID defined on both GPUs
	add_def 0000:3b:00.0 $U3 "$(def_json nvidia-257 manual)"
	add_def 0000:d8:00.0 $U3 "$(def_json nvidia-257 auto)"
}
CASES=(
	"${READONLY_CASES[@]}"
	"mdevctl list -p 0000:d8:00.0"
	"mdevctl list -d -u $U3"
	"mdevctl list -d -u $U3 --dumpjson"
	"mdevctl list -d -u $U3 -p 0000:d8:00.0 --dumpjson"
	"mdevctl types -p 0000:d8:00.0 --dumpjson"
	"mdevctl start -u $U3"
	"mdevctl modify -u $U3 --auto"
	"mdevctl modify -u $U3 -p 0000:3b:00.0 --auto ;; mdevctl list -d"
	"mdevctl undefine -u $U3 ;; mdevctl list -d"
	"mdevctl define -u $U5 ;; mdevctl list -d --dumpjson"
	"mdevctl define -u $U4 -p 0000:d8:00.0 ;; mdevctl list -d"
	"mdevctl start -u $U4 -p 0000:d8:00.0 -t nvidia-256"
	"@kernel mdevctl start-parent-mdevs 0000:d8:00.0"
)
