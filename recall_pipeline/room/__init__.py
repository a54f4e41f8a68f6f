"""The examination room: the web workspace where proponents review invalid lines, examiners
rule on challenges and observers watch the count."""
