/* tests/driver/t_pit.S: the script-running guest of irq_guest.inc. */
#include "irq_guest.inc"
