# Sourced by check-abi-baseline.sh and vfio-user/bench-baseline.sh: the
# library of the commit named in lib/abi-baseline, built once from the
# repository's own history (git archive, no network) and cached outside the
# build tree, keyed by commit ($VGPU_ABI_CACHE, default
# ~/.cache/libvgpu-abi/COMMIT: libvgpu.so.0 and include/).
# abi_baseline_build SOURCE-ROOT sets baseline_version, baseline_commit and
# baseline_dir; it calls the caller's skip() when it cannot run here (no git,
# no history with the commit) and exits 1 when the build fails.
abi_baseline_build() {
	command -v git > /dev/null || skip "git not installed"
	read -r baseline_version baseline_commit < "$1/lib/abi-baseline"
	git -C "$1" cat-file -e "$baseline_commit^{commit}" 2> /dev/null ||
		skip "baseline commit $baseline_commit ($baseline_version) not in this checkout's history"
	baseline_dir=${VGPU_ABI_CACHE:-${HOME:-/root}/.cache/libvgpu-abi}/$baseline_commit
	[ -f "$baseline_dir/done" ] && return 0
	mkdir -p "$(dirname "$baseline_dir")"
	_work=$(mktemp -d "$baseline_dir.XXXXXX")
	trap 'rm -rf "$_work"' EXIT
	git -C "$1" archive --format=tar "$baseline_commit" | tar -x -C "$_work"
	meson setup "$_work/build" "$_work" -Dtests=disabled -Dvm_tests=disabled \
		-Dbuildtype=debugoptimized > "$_work/setup.log" 2>&1 ||
		{ cat "$_work/setup.log"; exit 1; }
	ninja -C "$_work/build" > "$_work/build.log" 2>&1 ||
		{ tail -30 "$_work/build.log"; exit 1; }
	mkdir -p "$_work/out"
	cp -L "$_work/build/lib/libvgpu.so.0" "$_work/out/"
	cp -r "$_work/include" "$_work/out/include"
	rm -rf "$baseline_dir"
	mv "$_work/out" "$baseline_dir"
	touch "$baseline_dir/done"
	rm -rf "$_work"
	trap - EXIT
}
