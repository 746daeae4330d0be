/* A well-formed test plugin: accepts every message. */
#include <sanzhang/plugin.h>

static const struct sz_setting goodplug_settings[] = {
	{ .key = "url", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the receiver's URL" },
	{ .key = "retries", .type = SZ_SETTING_INT, .help = "how often" },
	{ .key = NULL },
};

static int
goodplug_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	*state = (void *)host;
	return 0;
}

static int
goodplug_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n)
{
	const struct sz_host *host = state;

	for (size_t i = 0; i < n; i++)
		host->outcome(chan, msgs[i]->id, SZ_ACCEPTED, NULL, 0, NULL);
	return 0;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "goodplug",
	.description = "test plugin",
	.max_batch = 1,
	.settings = goodplug_settings,
	.open = goodplug_open,
	.send = goodplug_send,
};
