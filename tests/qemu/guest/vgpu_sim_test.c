// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vgpu_sim_test — a guest PCI driver for vgpu-sim (libvgpu's sample vGPU,
 * tools/vgpu-sim.h), built against the guest kernel's headers by the qemu
 * test suite and loaded inside a QEMU guest where vgpu-sim is attached
 * through vfio-user-pci.
 *
 * It binds to the device and offers one write-only attribute, `test`, on
 * the PCI device: writing a command runs that check and the write fails
 * (-EIO, -ETIMEDOUT, ...) when the check fails. What was seen goes to the
 * kernel log. Commands:
 *
 *   enum        ids, class, BARs, capabilities (MSI, MSI-X, PCIe), INTx pin
 *   regs        the ID and size registers, a read/write register, a
 *               read-only one, STATUS write-one-to-clear
 *   irq MODE    use MODE (msix, msi, intx) for the completion interrupt
 *   draw        mode set (640x480 XR24) and the top half of the test picture
 *               written by the CPU through BAR2, read back
 *   blit        the bottom half of the picture copied by the device's DMA
 *               engine from a guest buffer into BAR2; waits for the
 *               completion interrupt and compares
 *   romblit     a DMA blit from the BIOS ROM at 4 GiB - 64 KiB (memory the
 *               VMM maps without a file descriptor, so the device reads it
 *               by message) into the framebuffer at 8 MiB, compared with
 *               the ROM as the CPU reads it
 */
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

#include "vgpu-sim.h"

#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

#define W	 VGPU_SIM_DEMO_WIDTH
#define H	 VGPU_SIM_DEMO_HEIGHT
#define STRIDE	 (W * 4)
#define HALF	 (STRIDE * (H / 2))
#define ROM_ADDR 0xffff0000ull
#define ROM_LEN	 0x10000u
#define ROM_DST	 (8u << 20)
#define IRQ_WAIT (60 * HZ)

struct sim {
	struct pci_dev *pdev;
	void __iomem *regs;
	void __iomem *fb;
	resource_size_t fb_len;
	struct mutex lock; /* one check at a time */
	struct completion done;
	atomic_t irqs;
	u32 status;
	int irq_mode; /* PCI_IRQ_*, 0: none */
	void *buf;
	dma_addr_t buf_dma;
};

static u32 rd(struct sim *s, unsigned int reg)
{
	return ioread32(s->regs + reg);
}

static void wr(struct sim *s, unsigned int reg, u32 v)
{
	iowrite32(v, s->regs + reg);
}

static irqreturn_t sim_irq(int irq, void *data)
{
	struct sim *s = data;
	u32 st = rd(s, VGPU_SIM_REG_STATUS);

	if (!st)
		return IRQ_NONE; /* INTx may be shared */
	wr(s, VGPU_SIM_REG_STATUS, st);
	s->status = st;
	atomic_inc(&s->irqs);
	complete(&s->done);
	return IRQ_HANDLED;
}

#define CHECK(cond, ...)                                     \
	do {                                                 \
		if (!(cond)) {                               \
			dev_err(&s->pdev->dev, __VA_ARGS__); \
			return -EIO;                         \
		}                                            \
	} while (0)

static int check_enum(struct sim *s)
{
	struct pci_dev *p = s->pdev;
	u16 sv, sd;
	u8 rev;

	pci_read_config_word(p, PCI_SUBSYSTEM_VENDOR_ID, &sv);
	pci_read_config_word(p, PCI_SUBSYSTEM_ID, &sd);
	pci_read_config_byte(p, PCI_REVISION_ID, &rev);
	dev_info(&p->dev,
		 "enum: %04x:%04x subsys %04x:%04x class %06x rev %u pin %u\n",
		 p->vendor, p->device, sv, sd, p->class, rev, p->pin);
	CHECK(p->vendor == VGPU_SIM_VENDOR && p->device == VGPU_SIM_DEVICE,
	      "enum: wrong ids\n");
	CHECK(sv == VGPU_SIM_VENDOR && sd == VGPU_SIM_DEVICE,
	      "enum: wrong subsystem ids\n");
	CHECK(p->class == VGPU_SIM_CLASS, "enum: wrong class\n");
	CHECK(rev == 1, "enum: wrong revision\n");
	CHECK(p->pin == 1, "enum: no INTA pin\n");
	dev_info(&p->dev, "enum: BAR0 %pR BAR2 %pR\n", &p->resource[0],
		 &p->resource[2]);
	CHECK(pci_resource_len(p, 0) == 4096 &&
		      (pci_resource_flags(p, 0) & IORESOURCE_MEM),
	      "enum: BAR0 is not 4 KiB of memory\n");
	CHECK(pci_resource_len(p, 2) ==
		      (resource_size_t)rd(s, VGPU_SIM_REG_FB_MB) << 20,
	      "enum: BAR2 size differs from the FB_MB register\n");
	CHECK((pci_resource_flags(p, 2) &
	       (IORESOURCE_MEM_64 | IORESOURCE_PREFETCH)) ==
		      (IORESOURCE_MEM_64 | IORESOURCE_PREFETCH),
	      "enum: BAR2 is not 64-bit prefetchable\n");
	CHECK(!pci_resource_len(p, 1) && !pci_resource_len(p, 4),
	      "enum: unexpected BARs\n");
	CHECK(pci_find_capability(p, PCI_CAP_ID_MSI),
	      "enum: no MSI capability\n");
	CHECK(pci_find_capability(p, PCI_CAP_ID_MSIX),
	      "enum: no MSI-X capability\n");
	CHECK(pci_is_pcie(p), "enum: no PCI Express capability\n");
	CHECK(pci_msi_vec_count(p) == 1, "enum: MSI vectors %d, want 1\n",
	      pci_msi_vec_count(p));
	CHECK(pci_msix_vec_count(p) == 4, "enum: MSI-X vectors %d, want 4\n",
	      pci_msix_vec_count(p));
	dev_info(&p->dev, "enum: MSI 1, MSI-X 4, PCIe type %d\n",
		 pci_pcie_type(p));
	return 0;
}

static int check_regs(struct sim *s)
{
	u32 id = rd(s, VGPU_SIM_REG_ID), mb = rd(s, VGPU_SIM_REG_FB_MB), blits;

	dev_info(&s->pdev->dev, "regs: ID %#x FB_MB %u\n", id, mb);
	CHECK(id == VGPU_SIM_ID, "regs: ID %#x, want %#x\n", id, VGPU_SIM_ID);
	CHECK(mb && ((resource_size_t)mb << 20) == s->fb_len,
	      "regs: FB_MB %u\n", mb);
	wr(s, VGPU_SIM_REG_SRC_LO, 0x12345678);
	CHECK(rd(s, VGPU_SIM_REG_SRC_LO) == 0x12345678,
	      "regs: SRC_LO does not keep a value\n");
	wr(s, VGPU_SIM_REG_SRC_LO, 0);
	wr(s, VGPU_SIM_REG_ID, 0);
	CHECK(rd(s, VGPU_SIM_REG_ID) == VGPU_SIM_ID, "regs: ID is writable\n");
	blits = rd(s, VGPU_SIM_REG_BLITS);
	wr(s, VGPU_SIM_REG_BLITS, blits + 100);
	CHECK(rd(s, VGPU_SIM_REG_BLITS) == blits, "regs: BLITS is writable\n");
	wr(s, VGPU_SIM_REG_STATUS, ~0u);
	CHECK(rd(s, VGPU_SIM_REG_STATUS) == 0, "regs: STATUS does not clear\n");
	return 0;
}

static void irq_off(struct sim *s)
{
	if (!s->irq_mode)
		return;
	free_irq(pci_irq_vector(s->pdev, 0), s);
	pci_free_irq_vectors(s->pdev);
	s->irq_mode = 0;
}

static int set_irq(struct sim *s, const char *mode)
{
	unsigned int type;
	int r;

	if (!strcmp(mode, "msix"))
		type = PCI_IRQ_MSIX;
	else if (!strcmp(mode, "msi"))
		type = PCI_IRQ_MSI;
	else if (!strcmp(mode, "intx"))
		type = PCI_IRQ_INTX;
	else
		return -EINVAL;
	irq_off(s);
	r = pci_alloc_irq_vectors(s->pdev, 1, 1, type);
	if (r < 0) {
		dev_err(&s->pdev->dev, "irq: cannot allocate a %s vector: %d\n",
			mode, r);
		return r;
	}
	r = request_irq(pci_irq_vector(s->pdev, 0), sim_irq,
			type == PCI_IRQ_INTX ? IRQF_SHARED : 0, "vgpu_sim_test",
			s);
	if (r < 0) {
		pci_free_irq_vectors(s->pdev);
		dev_err(&s->pdev->dev, "irq: request_irq: %d\n", r);
		return r;
	}
	s->irq_mode = type;
	dev_info(&s->pdev->dev, "irq: %s, vector %d\n", mode,
		 pci_irq_vector(s->pdev, 0));
	return 0;
}

/* clear @len bytes of BAR2 at @off in pieces: under TCG on a busy host a
 * single big memset_io() holds the CPU long enough for RCU to complain */
static void fb_clear(struct sim *s, u32 off, u32 len, u8 v)
{
	while (len) {
		u32 n = len < 65536 ? len : 65536;

		memset_io(s->fb + off, v, n);
		off += n;
		len -= n;
		cond_resched();
	}
}

static u32 pixel(unsigned int i)
{
	return vgpu_sim_test_pixel(i % W, i / W, W, H);
}

static int draw(struct sim *s)
{
	unsigned int i;

	wr(s, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);
	wr(s, VGPU_SIM_REG_WIDTH, W);
	wr(s, VGPU_SIM_REG_HEIGHT, H);
	wr(s, VGPU_SIM_REG_STRIDE, STRIDE);
	CHECK(rd(s, VGPU_SIM_REG_WIDTH) == W && rd(s, VGPU_SIM_REG_HEIGHT) == H,
	      "draw: the mode did not stick\n");
	for (i = 0; i < HALF / 4; i++) {
		iowrite32(pixel(i), s->fb + 4 * i);
		if (!(i % 4096))
			cond_resched();
	}
	for (i = 0; i < HALF / 4; i++)
		CHECK(ioread32(s->fb + 4 * i) == pixel(i),
		      "draw: pixel %u reads %#x, wrote %#x\n", i,
		      ioread32(s->fb + 4 * i), pixel(i));
	dev_info(&s->pdev->dev,
		 "draw: %ux%u XR24, top half written and read back\n", W, H);
	return 0;
}

/* one blit and its completion interrupt */
static int run_blit(struct sim *s, u64 src, u32 dst, u32 len)
{
	u32 blits = rd(s, VGPU_SIM_REG_BLITS);
	int irqs = atomic_read(&s->irqs);
	long left;

	if (!s->irq_mode)
		return -ENXIO;
	reinit_completion(&s->done);
	s->status = 0;
	wr(s, VGPU_SIM_REG_SRC_LO, lower_32_bits(src));
	wr(s, VGPU_SIM_REG_SRC_HI, upper_32_bits(src));
	wr(s, VGPU_SIM_REG_DST, dst);
	wr(s, VGPU_SIM_REG_LEN, len);
	wr(s, VGPU_SIM_REG_DOORBELL, 1);
	left = wait_for_completion_timeout(&s->done, IRQ_WAIT);
	if (!left) {
		dev_err(&s->pdev->dev,
			"blit: no completion interrupt (STATUS %#x)\n",
			rd(s, VGPU_SIM_REG_STATUS));
		return -ETIMEDOUT;
	}
	dev_info(
		&s->pdev->dev,
		"blit: %u bytes from %#llx, interrupt %d, STATUS %#x, ERROR %u\n",
		len, src, atomic_read(&s->irqs) - irqs, s->status,
		rd(s, VGPU_SIM_REG_ERROR));
	CHECK(s->status == VGPU_SIM_STATUS_DONE, "blit: failed, ERROR %u\n",
	      rd(s, VGPU_SIM_REG_ERROR));
	CHECK(rd(s, VGPU_SIM_REG_BLITS) == blits + 1,
	      "blit: BLITS did not count it\n");
	return 0;
}

static int blit(struct sim *s)
{
	u32 *src = s->buf;
	unsigned int i;
	int r;

	for (i = 0; i < HALF / 4; i++)
		src[i] = pixel(HALF / 4 + i);
	fb_clear(s, HALF, HALF, 0); /* so the copy has to land */
	r = run_blit(s, s->buf_dma, HALF, HALF);
	if (r < 0)
		return r;
	for (i = 0; i < HALF / 4; i++)
		CHECK(ioread32(s->fb + HALF + 4 * i) == src[i],
		      "blit: pixel %u reads %#x, want %#x\n", HALF / 4 + i,
		      ioread32(s->fb + HALF + 4 * i), src[i]);
	return 0;
}

static int romblit(struct sim *s)
{
	void __iomem *rom;
	unsigned int i;
	int r;

	CHECK(s->fb_len >= ROM_DST + ROM_LEN,
	      "romblit: framebuffer too small\n");
	rom = ioremap(ROM_ADDR, ROM_LEN);
	if (!rom)
		return -ENOMEM;
	fb_clear(s, ROM_DST, ROM_LEN, 0xa5);
	r = run_blit(s, ROM_ADDR, ROM_DST, ROM_LEN);
	for (i = 0; !r && i < ROM_LEN; i += 4)
		if (ioread32(s->fb + ROM_DST + i) != ioread32(rom + i)) {
			dev_err(&s->pdev->dev,
				"romblit: byte %#x reads %#x, ROM has %#x\n", i,
				ioread32(s->fb + ROM_DST + i),
				ioread32(rom + i));
			r = -EIO;
		}
	iounmap(rom);
	return r;
}

static ssize_t test_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct sim *s = dev_get_drvdata(dev);
	char cmd[32], arg[16] = "";
	int r;

	if (sscanf(buf, "%31s %15s", cmd, arg) < 1)
		return -EINVAL;
	mutex_lock(&s->lock);
	if (!strcmp(cmd, "enum"))
		r = check_enum(s);
	else if (!strcmp(cmd, "regs"))
		r = check_regs(s);
	else if (!strcmp(cmd, "irq"))
		r = set_irq(s, arg);
	else if (!strcmp(cmd, "draw"))
		r = draw(s);
	else if (!strcmp(cmd, "blit"))
		r = blit(s);
	else if (!strcmp(cmd, "romblit"))
		r = romblit(s);
	else
		r = -EINVAL;
	mutex_unlock(&s->lock);
	return r < 0 ? r : (ssize_t)count;
}
static DEVICE_ATTR_WO(test);

static int sim_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct sim *s;
	int r;

	s = devm_kzalloc(&pdev->dev, sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->pdev = pdev;
	mutex_init(&s->lock);
	init_completion(&s->done);
	r = pcim_enable_device(pdev);
	if (r)
		return r;
	pci_set_master(pdev);
	r = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (r)
		return r;
	r = pcim_iomap_regions(pdev, BIT(0) | BIT(2), "vgpu_sim_test");
	if (r)
		return r;
	s->regs = pcim_iomap_table(pdev)[0];
	s->fb = pcim_iomap_table(pdev)[2];
	s->fb_len = pci_resource_len(pdev, 2);
	s->buf = dmam_alloc_coherent(&pdev->dev, HALF, &s->buf_dma, GFP_KERNEL);
	if (!s->buf)
		return -ENOMEM;
	pci_set_drvdata(pdev, s);
	r = device_create_file(&pdev->dev, &dev_attr_test);
	if (r)
		return r;
	dev_info(&pdev->dev,
		 "vgpu-sim bound, %llu MiB framebuffer, DMA buffer at %pad\n",
		 (unsigned long long)s->fb_len >> 20, &s->buf_dma);
	return 0;
}

static void sim_remove(struct pci_dev *pdev)
{
	struct sim *s = pci_get_drvdata(pdev);

	device_remove_file(&pdev->dev, &dev_attr_test);
	mutex_lock(&s->lock);
	irq_off(s);
	mutex_unlock(&s->lock);
	dev_info(&pdev->dev, "vgpu-sim unbound (%d interrupts)\n",
		 atomic_read(&s->irqs));
}

static const struct pci_device_id sim_ids[] = {
	{ PCI_DEVICE(VGPU_SIM_VENDOR, VGPU_SIM_DEVICE) }, {}
};
MODULE_DEVICE_TABLE(pci, sim_ids);

static struct pci_driver sim_driver = {
	.name = "vgpu_sim_test",
	.id_table = sim_ids,
	.probe = sim_probe,
	.remove = sim_remove,
};
module_pci_driver(sim_driver);

MODULE_DESCRIPTION("test driver for libvgpu's vgpu-sim in a QEMU guest");
MODULE_LICENSE("GPL");
