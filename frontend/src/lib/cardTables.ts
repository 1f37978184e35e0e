/**
 * Tables with class `cards` become one card per row on a phone (style.css, below 600 px): each
 * cell shows its column's header before it, from `data-label`. The labels are copied here from
 * the table's header row, so a view only adds the class; a cell with its own `data-label` keeps it.
 */

const AUTO = 'data-label-auto'

/** Give each body cell of `table` the text of its column's header. */
export function labelCardTable(table: HTMLTableElement): void {
  const head = table.tHead?.rows[0]
  if (!head) return
  const labels = Array.from(head.cells).map((th) => (th.textContent ?? '').trim())
  for (const body of Array.from(table.tBodies)) {
    for (const row of Array.from(body.rows)) {
      let column = 0
      for (const cell of Array.from(row.cells)) {
        const label = labels[column] ?? ''
        if (!cell.hasAttribute('data-label') || cell.hasAttribute(AUTO)) {
          if (cell.getAttribute('data-label') !== label) cell.setAttribute('data-label', label)
          cell.setAttribute(AUTO, '')
        }
        column += cell.colSpan || 1
      }
    }
  }
}

/** Label every `table.cards` under `root` now and whenever the page changes. */
export function watchCardTables(root: HTMLElement): MutationObserver {
  let queued = false
  const run = () => {
    queued = false
    root.querySelectorAll<HTMLTableElement>('table.cards').forEach(labelCardTable)
  }
  const observer = new MutationObserver(() => {
    if (queued) return
    queued = true
    requestAnimationFrame(run)
  })
  observer.observe(root, { childList: true, subtree: true, characterData: true })
  run()
  return observer
}
