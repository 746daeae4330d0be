/* A shared object that is not a sanzhang plugin. */
int nosym_answer(void);

int
nosym_answer(void)
{
	return 42;
}
