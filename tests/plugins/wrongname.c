/* A test plugin whose name is not its file's. */
#include <sanzhang/plugin.h>

static int
wrongname_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n)
{
	return 0;
}

static int
wrongname_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	return 0;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "othername",
	.max_batch = 1,
	.open = wrongname_open,
	.send = wrongname_send,
};
