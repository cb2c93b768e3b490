#include "fake_sysfs.h"
