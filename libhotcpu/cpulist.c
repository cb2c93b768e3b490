#include "cpulist.h"
