"""Every request runs in one chunk of the interpreter's frame stack
(iop.middleware.OneStackChunkMiddleware): no loop of a page crosses the edge of a chunk, where
CPython maps and unmaps memory on every turn."""

import sys

from django.conf import settings

from iop.middleware import OneStackChunkMiddleware, call_in_roomy_frame

# CPython's DATA_STACK_CHUNK_SIZE; a frame larger than it is given a chunk of its own.
CHUNK_BYTES = 16 * 1024


def test_the_middleware_is_outermost():
    assert settings.MIDDLEWARE[0] == "iop.middleware.OneStackChunkMiddleware"


def test_the_roomy_frame_is_many_chunks_large_and_passes_the_call_through():
    assert call_in_roomy_frame.__code__.co_nlocals * 8 > 4 * CHUNK_BYTES
    assert call_in_roomy_frame(divmod, 7, 2) == (3, 1)


def test_the_view_is_called_from_inside_the_roomy_frame(rf):
    def get_response(request):
        frame, callers = sys._getframe(), []
        while frame is not None:
            callers.append(frame.f_code)
            frame = frame.f_back
        return callers

    assert call_in_roomy_frame.__code__ in OneStackChunkMiddleware(get_response)(rf.get("/"))
