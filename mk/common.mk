# mk/common.mk: compiler settings shared by every userspace component.
# Included by launcher/Makefile, imgtool/Makefile and the test builds.
# BUILD is the output root (default build/, build-san/ with SAN=1).

TOP      ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
SAN      ?= 0
ifeq ($(SAN),1)
BUILD    ?= $(TOP)/build-san
else
BUILD    ?= $(TOP)/build
endif

CC       ?= gcc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread \
            -I$(TOP)/include -MMD -MP
LDFLAGS  += -pthread
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

PKGS_CFLAGS = $(shell pkg-config --cflags libconfig libarchive zlib libzstd 2>/dev/null)
PKGS_LIBS   = $(shell pkg-config --libs libconfig libarchive zlib libzstd 2>/dev/null)

PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := $(shell cat $(TOP)/VERSION 2>/dev/null || echo 0.1.0)
CFLAGS   += -DPROJECT_VERSION='"$(VERSION)"'
