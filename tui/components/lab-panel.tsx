// The guided lab's panel under the charts: the step, its instruction, the
// check's ✓/✗ with its detail, and the lab's keys; once every step passed,
// the debrief (which takes the whole body and scrolls).

import { Box } from 'ink';
import type { LabSessionState } from '../lab-controller.js';
import { wrap } from '../format.js';
import { SegmentLine, type Segment } from './segments.js';

export const labKeysText = 'n next step · A do this step for me · ? hint · : command · q quit';

function titleLine(state: LabSessionState, width: number): Segment[] {
  const step = state.step;
  const count = state.steps.length;
  const where = step === null ? '' : ` — step ${step.number}/${count}: ${step.title}`;
  const full = `${state.lab.title}${where}`;
  // When the lab's title and the step's do not both fit, the step matters more.
  const name = 5 + full.length <= width ? state.lab.title : state.lab.id;
  return [
    { text: 'Lab: ', bold: true, color: 'cyan' },
    { text: name, bold: true },
    { text: where, bold: true, color: 'cyan' },
  ];
}

function checkLines(state: LabSessionState, width: number): Segment[][] {
  const step = state.step;
  if (step === null) return [];
  if (state.autopilotRunning && !step.check.passed) return [[{ text: '… ', bold: true, color: 'yellow' }, { text: `the autopilot is doing this step — ${step.check.detail}` }]];
  const mark: Segment = step.check.passed ? { text: '✓ ', bold: true, color: 'green' } : { text: '✗ ', bold: true, color: 'red' };
  const tail = step.check.passed ? (step.number === state.steps.length ? ' — n finishes the lab' : ' — n: next step') : '';
  // The "n: next step" reminder only when it fits on the line (the key line says it too).
  const withTail = `${step.check.detail}${tail}`;
  const lines = wrap(withTail.length <= width - 2 ? withTail : step.check.detail, width - 2);
  return lines.slice(0, 2).map((line, i): Segment[] => [i === 0 ? mark : { text: '  ' }, { text: i === 1 && lines.length > 2 ? `${line.slice(0, Math.max(0, width - 3))}…` : line, ...(step.check.passed ? { color: 'green' as const } : {}) }]);
}

function bottomLine(state: LabSessionState): Segment[] {
  if (state.message !== null) return [{ text: '! ', bold: true, color: 'yellow' }, { text: state.message, color: 'yellow' }, { text: '   A does it for you', dim: true }];
  return [{ text: labKeysText, dim: true }];
}

function stepListLines(state: LabSessionState): Segment[][] {
  return state.steps.map((step, i): Segment[] => {
    const mark = step.status === 'passed' ? '✓' : step.status === 'current' ? '▸' : ' ';
    const by = step.by === 'autopilot' ? ' (autopilot)' : '';
    return [
      { text: `${mark} ${i + 1}. `, bold: step.status !== 'pending', ...(step.status === 'passed' ? { color: 'green' as const } : {}) },
      { text: `${step.title}${by}`, dim: step.status === 'pending' },
    ];
  });
}

/** Every line the running panel would like, and which of them may be dropped or shortened. */
function panelParts(state: LabSessionState, width: number) {
  const instruction = state.step === null ? [] : wrap(state.step.instruction, width);
  return { title: titleLine(state, width), instruction, check: checkLines(state, width), bottom: bottomLine(state), steps: stepListLines(state) };
}

/** The rows the running panel needs to show everything (with the step list when `withSteps`). */
export function labPanelRows(state: LabSessionState, width: number, withSteps: boolean): number {
  const parts = panelParts(state, width);
  return 1 + parts.instruction.length + parts.check.length + 1 + (withSteps ? parts.steps.length + 1 : 0);
}

export interface LabPanelProps {
  readonly state: LabSessionState;
  readonly width: number;
  readonly rows: number;
  readonly color: boolean;
}

/** The running lab: title, instruction (cut with … when the rows are few), check, keys or message; the step list when there is room. */
export function LabPanel({ state, width, rows, color }: LabPanelProps) {
  const parts = panelParts(state, width);
  const fixed = 1 + parts.check.length + 1;
  const instructionRows = Math.max(1, rows - fixed);
  let instruction = parts.instruction.slice(0, instructionRows);
  if (parts.instruction.length > instructionRows) {
    const last = instruction[instruction.length - 1] ?? '';
    instruction = [...instruction.slice(0, -1), `${last.slice(0, Math.max(0, width - 1))}…`];
  }
  const spare = rows - fixed - instruction.length;
  const steps = spare >= parts.steps.length + 1 ? [[{ text: '' }] as Segment[], ...parts.steps] : [];
  const lines: Segment[][] = [parts.title, ...instruction.map((line): Segment[] => [{ text: line }]), ...parts.check, ...steps, parts.bottom];
  return (
    <Box flexDirection="column" width={width} height={rows}>
      {lines.slice(0, rows).map((segments, i) => (
        <SegmentLine key={i} segments={segments} width={width} color={color} />
      ))}
    </Box>
  );
}

/** The finished lab's lines: what passed, then the debrief, wrapped to `width`. */
export function debriefLines(state: LabSessionState, width: number): Segment[][] {
  const byAutopilot = state.steps.filter((step) => step.by === 'autopilot').length;
  const lines: Segment[][] = [
    [{ text: 'Lab complete: ', bold: true, color: 'green' }, { text: state.lab.title, bold: true }],
    [{ text: `every step's check passed${byAutopilot > 0 ? ` (${byAutopilot} by the autopilot)` : ''}`, dim: true }],
    ...state.steps.map((step, i): Segment[] => [{ text: `✓ ${i + 1}. `, bold: true, color: 'green' }, { text: step.title }, { text: step.by === 'autopilot' ? ' (autopilot)' : '', dim: true }]),
    [{ text: '' }],
    [{ text: 'Debrief', bold: true, color: 'cyan' }],
  ];
  for (const paragraph of state.debrief ?? []) {
    const wrapped = wrap(paragraph, width - 2);
    wrapped.forEach((line, i) => lines.push([{ text: `${i === 0 ? '• ' : '  '}${line}` }]));
  }
  return lines;
}

/** How far the debrief can scroll at this size (0 when it fits above its key line). */
export function debriefScrollMax(state: LabSessionState, width: number, rows: number): number {
  return Math.max(0, debriefLines(state, width).length - Math.max(1, rows - 1));
}

export interface DebriefPaneProps {
  readonly state: LabSessionState;
  readonly width: number;
  readonly rows: number;
  readonly scroll: number;
  readonly color: boolean;
}

export function DebriefPane({ state, width, rows, scroll, color }: DebriefPaneProps) {
  const all = debriefLines(state, width);
  const room = Math.max(1, rows - 1);
  const top = Math.max(0, Math.min(scroll, debriefScrollMax(state, width, rows)));
  const shown = all.slice(top, top + room);
  const more = all.length > room ? ` · lines ${top + 1}–${top + shown.length} of ${all.length}, ↑↓ PgUp PgDn scroll` : '';
  return (
    <Box flexDirection="column" width={width} height={rows}>
      {shown.map((segments, i) => (
        <SegmentLine key={i} segments={segments} width={width} color={color} />
      ))}
      {Array.from({ length: room - shown.length }, (_, i) => (
        <SegmentLine key={`blank-${i}`} segments={[{ text: '' }]} width={width} color={color} />
      ))}
      <SegmentLine segments={[{ text: 'q quits (stops every node)', bold: true }, { text: more, dim: true }]} width={width} color={color} />
    </Box>
  );
}
