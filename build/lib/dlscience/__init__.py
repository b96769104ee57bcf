"""Reusable machinery for *Science of Deep Learning: Theory Meets Experiment*.

Chapters import what they need from the submodules:

* :mod:`dlscience.runtime` -- seeds, the ``BOOK_SCALE`` switch, scaled size records, the device.
* :mod:`dlscience.plot` -- the book's figure style.
* :mod:`dlscience.models` -- small networks with explicit initialization.
* :mod:`dlscience.data` -- synthetic and shipped data sets.
* :mod:`dlscience.train` -- the one training loop used by every chapter.
"""

__version__ = "0.1.0"
