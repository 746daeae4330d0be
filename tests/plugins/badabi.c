/* A test plugin built for another ABI version. */
#include <sanzhang/plugin.h>

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI + 1,
	.name = "badabi",
	.max_batch = 1,
};
