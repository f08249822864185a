# Shell helpers of the vgpuctl tests (sourced). The caller sets $tmp; the
# last command's output is in $tmp/out and $tmp/err.
passed=0 failed=0
# under `meson test --setup valgrind` the programs the script runs are
# checked too: run them as ${vg[@]} PROGRAM ...
vg=()
if [ "${VGPU_UNDER_VALGRIND:-}" = 1 ] && command -v valgrind > /dev/null; then
	vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
	    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect)
fi
# expect STATUS CMD...: run CMD, compare its exit status
expect() {
	local want=$1; shift
	"$@" > "$tmp/out" 2> "$tmp/err"
	local got=$?
	if [ "$got" = "$want" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: '$*' exited $got, wanted $want"
		sed 's/^/  stdout: /' "$tmp/out"; sed 's/^/  stderr: /' "$tmp/err"
	fi
}
# check DESCRIPTION COMMAND...: a shell condition on the last output
check() {
	local what=$1; shift
	if "$@"; then passed=$((passed + 1)); else
		failed=$((failed + 1)); echo "FAIL: $what"
		sed 's/^/  stdout: /' "$tmp/out"; sed 's/^/  stderr: /' "$tmp/err"
	fi
}
# the last command printed exactly one line on stderr
one_line() { [ "$(wc -l < "$tmp/err")" = 1 ]; }
# the counts, and the exit status of the test
summary() {
	echo "$passed passed, $failed failed"
	[ $failed = 0 ]
}
