// GPUs and the functions that travel with them.
#pragma once

#include "inventory/model.h"

namespace gpuhost::inventory {

// Fills inv->gpus and inv->nvswitches from inv->functions, and marks every
// non-GPU function in a GPU's slot as its companion (HDMI audio .1, Turing
// USB .2 and UCSI .3): they must follow the GPU wherever it goes.
void ClassifyGpus(Inventory* inv);

}  // namespace gpuhost::inventory
