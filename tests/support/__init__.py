"""What the test files share: the seam to the code under test (``target``), the checks that word a
failure (``checks``), the hypothesis strategies and builders (``strategies``), and the models, layer
cases and decoding cases several exercises' tests draw from (``models``, ``encoder``, ``decoder``,
``decoding``). Test files import from here, never from one another."""
