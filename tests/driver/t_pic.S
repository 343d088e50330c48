/* tests/driver/t_pic.S: the script-running guest of irq_guest.inc. */
#include "irq_guest.inc"
