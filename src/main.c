/* main.c - placeholder entry point until the CLI lands. */
#include <stdio.h>
int main(void) { puts("discord-cleaner: not built yet"); return 70; }
