/* vfio-probe: tiny VFIO client used by the VM harness' self-test.
 *
 *   vfio-probe                    check the container API and type1 support
 *   vfio-probe GROUP DEVICE       also attach /dev/vfio/GROUP to a type1
 *                                 container and open DEVICE (mdev UUID or PCI
 *                                 address), printing its region/IRQ counts
 *
 * It is dynamically linked on purpose: it exercises run-vm.sh's copying of
 * meson-built programs and their libraries into the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vfio.h>

static int fail(const char *what)
{
	fprintf(stderr, "vfio-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return fail("open /dev/vfio/vfio");
	int api = ioctl(container, VFIO_GET_API_VERSION);
	if (api != VFIO_API_VERSION) {
		fprintf(stderr, "vfio-probe: API version %d, expected %d\n",
			api, VFIO_API_VERSION);
		return 1;
	}
	int type1 = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	printf("vfio api %d, type1v2 %s\n", api, type1 > 0 ? "yes" : "no");
	if (type1 <= 0)
		return 1;
	if (argc < 3)
		return 0;

	char path[64];
	snprintf(path, sizeof(path), "/dev/vfio/%s", argv[1]);
	int group = open(path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		return fail(path);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) < 0)
		return fail("VFIO_GROUP_GET_STATUS");
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		fprintf(stderr, "vfio-probe: group %s not viable\n", argv[1]);
		return 1;
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
		return fail("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail("VFIO_SET_IOMMU");
	int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
	if (dev < 0)
		return fail("VFIO_GROUP_GET_DEVICE_FD");
	struct vfio_device_info info = { .argsz = sizeof(info) };
	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &info) < 0)
		return fail("VFIO_DEVICE_GET_INFO");
	printf("device %s: flags 0x%x, %u regions, %u irqs%s\n", argv[2],
	       info.flags, info.num_regions, info.num_irqs,
	       (info.flags & VFIO_DEVICE_FLAGS_PCI) ? ", pci" : "");
	close(dev);
	close(group);
	close(container);
	return (info.flags & VFIO_DEVICE_FLAGS_PCI) ? 0 : 1;
}
