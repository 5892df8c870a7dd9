// Text helpers for the rules' annotations: folding a text block into one line as YAML's `>-`
// does, spelling a Prometheus duration or a small number out, and the runbook link of an alert.
{
  // A ||| block joined into one line, one space between lines, no trailing newline.
  fold(text):: std.join(' ', std.filter(function(l) l != '', std.split(text, '\n'))),

  local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' },
  local parse(d) =
    local unit = d[std.length(d) - 1];
    assert std.objectHas(units, unit) : 'duration %s: one number and one unit of s, m, h, d, w' % d;
    { n: std.parseInt(std.substr(d, 0, std.length(d) - 1)), unit: units[unit] },

  // '5m' -> '5 minutes', '1h' -> '1 hour'.
  duration(d)::
    local p = parse(d);
    '%d %s%s' % [p.n, p.unit, if p.n == 1 then '' else 's'],

  // '10m' -> '10-minute', as in "every 10-minute window".
  durationAdjective(d)::
    local p = parse(d);
    '%d-%s' % [p.n, p.unit],

  // 3 -> 'three'; numbers past ten as digits.
  number(n)::
    local words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    if n >= 0 && n <= 10 && n == std.floor(n) then words[n] else std.toString(n),

  // The runbook section of an alert.
  runbookURL(config, alert):: '%s%s#%s' % [config.runbookBaseURL, config.runbookPath, std.asciiLower(alert)],
}
