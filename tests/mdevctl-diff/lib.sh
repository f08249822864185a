# Helpers to lay out a fake sysfs + /etc/mdevctl.d tree the way the kernel
# and mdevctl do.  Sourced by run.sh; every function works on $TREE.
# Relative symlinks only, so the tree can be bind-mounted on /sys.

declare -A PARENT_PATH

init_tree() {
	mkdir -p "$TREE/sys/class/mdev_bus" "$TREE/sys/bus/mdev/devices" \
		"$TREE/sys/devices" \
		"$TREE/etc/mdevctl.d/scripts.d/callouts" \
		"$TREE/etc/mdevctl.d/scripts.d/notifiers" \
		"$TREE/usr/lib/mdevctl/scripts.d/callouts" \
		"$TREE/usr/lib/mdevctl/scripts.d/notifiers"
}

# add_parent NAME DEVPATH   (DEVPATH relative to /sys/devices)
add_parent() {
	PARENT_PATH[$1]=$2
	mkdir -p "$TREE/sys/devices/$2"
	ln -s "../../devices/$2" "$TREE/sys/class/mdev_bus/$1"
}

# add_type PARENT TYPE AVAIL API [NAME] [DESCRIPTION]
# NAME/DESCRIPTION are written verbatim plus a newline when given ("-" = absent)
add_type() {
	local d="$TREE/sys/devices/${PARENT_PATH[$1]}/mdev_supported_types/$2"
	mkdir -p "$d/devices"
	echo "$3" >"$d/available_instances"
	echo "$4" >"$d/device_api"
	: >"$d/create"
	[ "${5:--}" = - ] || printf '%s\n' "$5" >"$d/name"
	[ "${6:--}" = - ] || printf '%s\n' "$6" >"$d/description"
}

# add_instance_attr PARENT TYPE RELPATH [REJECT-VALUE ERRNO-NAME]
# Instances of TYPE that vgpu-fakesysfs creates (@kernel cases) get the
# vendor attribute RELPATH; writing REJECT-VALUE to it fails with ERRNO-NAME.
add_instance_attr() {
	printf '%s\n' "$3${4:+ $4 $5}" \
		>>"$TREE/sys/devices/${PARENT_PATH[$1]}/mdev_supported_types/$2/.fake-instance-attrs"
}

# add_instance PARENT UUID TYPE [ATTR...]   (ATTR files are created empty)
add_instance() {
	local p=$1 u=$2 t=$3; shift 3
	local pp=${PARENT_PATH[$p]}
	local d="$TREE/sys/devices/$pp/$u"
	mkdir -p "$d"
	ln -s "../mdev_supported_types/$t" "$d/mdev_type"
	: >"$d/remove"
	local a; for a in "$@"; do : >"$d/$a"; done
	# devices/ link inside the type dir, like the kernel
	ln -s "../../../$u" "$TREE/sys/devices/$pp/mdev_supported_types/$t/devices/$u"
	ln -s "../../../devices/$pp/$u" "$TREE/sys/bus/mdev/devices/$u"
}

# add_def PARENT UUID JSON-TEXT   (written verbatim, no trailing newline)
add_def() {
	mkdir -p "$TREE/etc/mdevctl.d/$1"
	printf '%s' "$3" >"$TREE/etc/mdevctl.d/$1/$2"
}

# def_json TYPE START [KEY VALUE]...  -> mdevctl-style pretty JSON
def_json() {
	local t=$1 s=$2; shift 2
	printf '{\n  "mdev_type": "%s",\n  "start": "%s",\n  "attrs": [' "$t" "$s"
	if [ $# -eq 0 ]; then printf ']\n}'; return; fi
	local first=1
	local k v
	while [ $# -ge 2 ]; do
		[ $first = 1 ] || printf ','
		k=${1//\\/\\\\}; k=${k//\"/\\\"}
		v=${2//\\/\\\\}; v=${v//\"/\\\"}
		printf '\n    {\n      "%s": "%s"\n    }' "$k" "$v"
		first=0; shift 2
	done
	printf '\n  ]\n}'
}

# add_script DIR NAME TEXT   (DIR relative to the tree, e.g.
# etc/mdevctl.d/scripts.d/callouts; the script is made executable)
add_script() {
	mkdir -p "$TREE/$1"
	printf '%s\n' "$3" > "$TREE/$1/$2"
	chmod 755 "$TREE/$1/$2"
}
