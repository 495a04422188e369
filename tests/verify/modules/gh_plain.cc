// Stands for a module without dependencies or firmware (vfio_pci, kvm_intel, ...).
extern "C" {
int gh_plain_fn(int x) { return x; }
__attribute__((section(".modinfo"), used)) const char gh_plain_license[] = "license=GPL";
}
