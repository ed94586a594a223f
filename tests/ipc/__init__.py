"""Tests of the libqb IPC layer below any service: semaphores, rings."""
