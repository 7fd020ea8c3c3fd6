#include "trace/trace-hw_vmbus.h"
