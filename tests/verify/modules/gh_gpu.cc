// Stands for a GPU driver that needs a dependency and firmware (nvidia-current: the GSP images).
extern "C" {
int gh_dep_fn(int x);
int gh_gpu_probe(int x) { return gh_dep_fn(x); }
__attribute__((section(".modinfo"), used)) const char gh_gpu_license[] = "license=GPL";
__attribute__((section(".modinfo"), used)) const char gh_gpu_fw[] = "firmware=gh/550/gsp.bin";
}
