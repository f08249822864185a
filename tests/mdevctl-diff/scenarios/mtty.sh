# mtty sample driver: virtual parent, names but no descriptions.
source "$HERE/scenarios/common.inc"
build() {
	add_parent mtty virtual/mtty/mtty
	add_type mtty mtty-2 1 vfio-pci "Dual-port-serial"
	add_type mtty mtty-1 2 vfio-pci "Single-port-serial"
	add_instance mtty $U5 mtty-2
	add_instance mtty $U2 mtty-1
	add_def mtty $U2 "$(def_json mtty-1 manual)"
}
CASES=(
	"${READONLY_CASES[@]}"
	"mdevctl define -u $U5 -a ;; mdevctl list ;; mdevctl list -d --dumpjson"
	"mdevctl start -u $U1 -p MTTY -t mtty-1"
	"@kernel mdevctl start -u $U1 -p mtty -t mtty-1"
	"mdevctl start -u $U1 -p mtty --jsonfile /nonexistent"
	"mdevctl start -u $U1 --jsonfile /nonexistent"
	"mdevctl define -u $U1 -p mtty --jsonfile /nonexistent"
	"mdevctl define -u $U1 --jsonfile /nonexistent"
	"mdevctl define -u $U2 -p mtty --jsonfile /nonexistent"
)
