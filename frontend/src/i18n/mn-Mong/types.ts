/** The Mongolian catalogue may leave keys out: every key it lacks is shown in Chinese. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends string ? string : DeepPartial<T[K]> }
