"""Flower entry points (an adapter): the components Flower's SuperLink and SuperNodes load in
deployment mode, and the processes that start them. They reach the space only through
:mod:`resonance.services`."""
