"""The course itself: the map of chapters, the student and reading editions, images, environment check."""

from .map import Chapter, chapters, course_map

__all__ = [
    "Chapter",
    "chapters",
    "course_map",
]
