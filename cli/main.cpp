#include <cstdio>
int main() { std::fputs("redispebble: under construction\n", stderr); return 1; }
