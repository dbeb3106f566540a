/* A shared object without the entry symbol: the loader must refuse it. */
int noentry_answer(void);
int noentry_answer(void)
{
  return 42;
}
