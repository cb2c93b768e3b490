#include "agent_client.h"
